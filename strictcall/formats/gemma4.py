"""Google Gemma 4: `call:NAME{...}` in Gemma's own literal syntax, between its call markers.

    <|tool_call>call:get_weather{city:<|"|>Paris<|"|>,days:2}<tool_call|>

Calls follow one another with nothing between them; the template then writes
`<|tool_response>` where the turn would end: it ends the calls (the grammar writes it, the
parser reads it, and an output that stops before it is complete) and the model's turn, as
`<turn|>` does. Arguments are
read into JSON as they come (formats/gemma_literal.py), and the grammar writes them from each
tool's schema (grammar/gemma_literal.py). Reasoning is the
thought channel, `<|channel>thought` ... `<channel|>`: with thinking off the prompt ends with
an empty one already closed, with `enable_thinking` the model opens it. The model also drops
`<|tool_call>` now and then, writing a bare `call:NAME{...}` as its answer (vLLM reads it):
read as a call where it opens the answer.
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import NamedJsonBody
from strictcall.formats.gemma_literal import GEMMA_ARGUMENTS
from strictcall.formats.syntax import CallSyntax, Reasoning

_BODY = NamedJsonBody(name_prefix="call:", arguments=GEMMA_ARGUMENTS)
_CALL_END = "<tool_call|>"
_RESPONSE = "<|tool_response>"

GEMMA4 = Format(
    name="gemma4",
    description='<|tool_call>call:NAME{key:<|"|>value<|"|>,n:2}<tool_call|> (Gemma 4)',
    syntax=CallSyntax(
        call_start="<|tool_call>", call_end=_CALL_END, section_end=_RESPONSE, body=_BODY
    ),
    variants=(CallSyntax(call_end=_CALL_END, section_end=_RESPONSE, body=_BODY, at_start=True),),
    reasoning=Reasoning("<|channel>thought", "<channel|>"),
    turn_ends=("<turn|>", _RESPONSE),
)
