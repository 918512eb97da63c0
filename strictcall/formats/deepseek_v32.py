"""DeepSeek V3.2 (and V4): DSML, XML parameters whose opening says each value's type.

    <｜DSML｜function_calls>
    <｜DSML｜invoke name="get_weather">
    <｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>
    <｜DSML｜parameter name="n" string="false">2</｜DSML｜parameter>
    </｜DSML｜invoke>
    </｜DSML｜function_calls>

`string="true"`: the value is raw text; `string="false"`: JSON. V4 names the block
`<｜DSML｜tool_calls>`; both are read, the grammar writes V3.2's. `<think>` reasoning.
"""

from strictcall.formats.base import Format
from strictcall.formats.syntax import CallSyntax, Reasoning
from strictcall.formats.xml_params import XmlParamsBody
from strictcall.grammar.xml_parameters import XmlTags

DSML = "｜DSML｜"
_TAGS = XmlTags(
    name_end='">\n',
    key_open=f'<{DSML}parameter name="',
    key_close='" string="true">',
    typed_key_close='" string="false">',
    value_close=f"</{DSML}parameter>",
    layout="",
    separator="\n",
    function_close=f"</{DSML}invoke>",
)


def _block(name: str) -> CallSyntax:
    return CallSyntax(
        section_start=f"<{DSML}{name}>\n",
        call_start=f'<{DSML}invoke name="',
        separator="\n",
        section_end=f"\n</{DSML}{name}>",
        body=XmlParamsBody(tags=_TAGS),
    )


_V32 = _block("function_calls")
DEEPSEEK_V32 = Format(
    name="deepseek_v32",
    aliases=("deepseek_v3.2", "deepseek_v4", "dsml"),
    description='<｜DSML｜invoke name="NAME"><｜DSML｜parameter name="K" string=".."> (V3.2, V4)',
    syntax=_V32,
    variants=(_block("tool_calls"),),
    reasoning=Reasoning("<think>", "</think>"),
)
