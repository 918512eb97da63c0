"""GLM 4.5 / 4.6 (`glm45`) and GLM 4.7 (`glm47`): XML key/value pairs inside `<tool_call>`.

    <tool_call>NAME
    <arg_key>city</arg_key>
    <arg_value>Paris</arg_value>
    </tool_call>

GLM 4.7 writes the same without the newlines. Strings are raw, other values JSON, typed by the
tool's schema (formats/xml_params.py). `</tool_call>` ends the body, so the call has no end
marker of its own. Reasoning in `<think>`...`</think>`.
"""

from strictcall.formats.base import Format
from strictcall.formats.syntax import CallSyntax, Reasoning
from strictcall.formats.xml_params import XmlParamsBody
from strictcall.grammar.xml_parameters import XmlTags


def _glm(newline: str) -> CallSyntax:
    tags = XmlTags(
        name_end=newline,
        key_open="<arg_key>",
        key_close=f"</arg_key>{newline}<arg_value>",
        value_close="</arg_value>",
        layout="",
        separator=newline,
        function_close="</tool_call>",
    )
    return CallSyntax(call_start="<tool_call>", separator="\n", body=XmlParamsBody(tags=tags))


GLM45 = Format(
    name="glm45",
    aliases=("glm4_moe", "glm4.5", "glm4.6"),
    description="<tool_call>NAME<arg_key>K</arg_key><arg_value>V</arg_value> (GLM 4.5, 4.6)",
    syntax=_glm("\n"),
    reasoning=Reasoning("<think>", "</think>"),
)

GLM47 = Format(
    name="glm47",
    aliases=("glm4.7",),
    description="GLM 4.5's calls without newlines between the tags (GLM 4.7)",
    syntax=_glm(""),
    reasoning=Reasoning("<think>", "</think>"),
)
