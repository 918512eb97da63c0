"""Muse Glimmer (ATEM): Harmony-like messages with a recipient, calls in XML parameters.

After the prompt's `<|start|>assistant` each message names who it is for; reasoning goes to
`self`, the answer to `user`, a call to the tool itself:

     to=self<|message|>REASONING<|eom|><|start|>assistant to=get_weather<|message|>
    <atem:function_calls>
    <atem:invoke name="get_weather">
    <atem:parameter name="city">Paris</atem:parameter>
    </atem:invoke>
    </atem:function_calls><|eom|><|start|>assistant to=get_time<|message|>...<|eot|>

    ... or  to=user<|message|>ANSWER<|eot|>

(the header is Harmony's without channels: `to=` then the recipient). A turn with calls has no
answer text (the template drops it), so calls open the answer (`at_start`); the name is
written twice, in the header and in the invoke, and the parser holds them to be the same.
Values as MiniMax M2's: strings raw, the rest JSON, typed by the schema (formats/xml_params.py).
`<|eot|>` ends the turn (after the answer, or after the last call, as the template writes it
when tool results follow), `<|eom|>` a message within it. No vLLM parser exists: the name is
ours.
"""

from strictcall.formats.base import Format
from strictcall.formats.syntax import CallSyntax, Reasoning
from strictcall.formats.xml_params import XmlParamsBody
from strictcall.grammar.xml_parameters import XmlTags

START, MESSAGE, EOM, EOT = "<|start|>", "<|message|>", "<|eom|>", "<|eot|>"
_NEXT = f"{EOM}{START}assistant"  # a message of the same turn follows

_TAGS = XmlTags(
    name_repeat=f'{MESSAGE}<atem:function_calls>\n<atem:invoke name="',
    name_end='">\n',
    key_open='<atem:parameter name="',
    key_close='">',
    value_close="</atem:parameter>",
    layout="",
    separator="\n",
    function_close="</atem:invoke>\n</atem:function_calls>",
)

MUSE_GLIMMER = Format(
    name="muse_glimmer",
    aliases=("atem",),
    description='to=NAME<|message|><atem:function_calls><atem:invoke name="NAME">.. (Glimmer)',
    syntax=CallSyntax(
        call_start=" to=",
        separator=_NEXT,
        at_start=True,
        body=XmlParamsBody(tags=_TAGS),
    ),
    reasoning=Reasoning(f" to=self{MESSAGE}", _NEXT),
    answer_start=f" to=user{MESSAGE}",
)
