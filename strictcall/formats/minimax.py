"""MiniMax M2: `<minimax:tool_call>` around `<invoke name="NAME">` blocks of parameters.

    <minimax:tool_call>
    <invoke name="get_weather">
    <parameter name="city">Paris</parameter>
    </invoke>
    </minimax:tool_call>

Strings raw, other values JSON, typed by the schema (formats/xml_params.py); `<think>`
reasoning.
"""

from strictcall.formats.base import Format
from strictcall.formats.syntax import CallSyntax, Reasoning
from strictcall.formats.xml_params import XmlParamsBody
from strictcall.grammar.xml_parameters import XmlTags

_TAGS = XmlTags(
    name_end='">\n',
    key_open='<parameter name="',
    key_close='">',
    value_close="</parameter>",
    layout="",
    separator="\n",
    function_close="</invoke>",
)

MINIMAX_M2 = Format(
    name="minimax_m2",
    aliases=("minimax",),
    description='<minimax:tool_call><invoke name="NAME"><parameter name="K">V (MiniMax M2)',
    syntax=CallSyntax(
        section_start="<minimax:tool_call>\n",
        call_start='<invoke name="',
        separator="\n",
        section_end="\n</minimax:tool_call>",
        body=XmlParamsBody(tags=_TAGS),
    ),
    reasoning=Reasoning("<think>", "</think>"),
)
