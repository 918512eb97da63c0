"""ByteDance Seed-OSS: Qwen3-Coder's parameters inside `<seed:tool_call>`, no newline around
values, and `<seed:think>` reasoning.

    <seed:tool_call>
    <function=get_weather>
    <parameter=city>Paris</parameter>
    </function>
    </seed:tool_call>
"""

from strictcall.formats.base import Format
from strictcall.formats.syntax import CallSyntax, Reasoning
from strictcall.formats.xml_params import XmlParamsBody
from strictcall.grammar.xml_parameters import XmlTags

SEED_OSS = Format(
    name="seed_oss",
    description="<seed:tool_call><function=NAME><parameter=K>V</parameter> (Seed-OSS)",
    syntax=CallSyntax(
        call_start="<seed:tool_call>\n<function=",
        call_end="\n</seed:tool_call>",
        separator="\n",
        body=XmlParamsBody(tags=XmlTags(layout="")),
    ),
    reasoning=Reasoning("<seed:think>", "</seed:think>"),
)
