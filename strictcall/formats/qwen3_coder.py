"""Qwen3-Coder: XML parameters inside `<tool_call>`.

`<tool_call>\n<function=NAME>\n<parameter=K>\nV\n</parameter>\n</function>\n</tool_call>`,
strings raw and other values as JSON (formats/xml_params.py). Models sometimes leave out the
`<tool_call>` wrapper or its closing tag; a bare `<function=` still opens a call.
"""

from dataclasses import replace

from strictcall.formats.base import Format
from strictcall.formats.syntax import CallSyntax, Reasoning
from strictcall.formats.xml_params import XmlParamsBody

_TAGGED = CallSyntax(
    call_start="<tool_call>\n<function=",
    call_end="\n</tool_call>",
    separator="\n",
    body=XmlParamsBody(),
)

QWEN3_CODER = Format(
    name="qwen3_coder",
    aliases=("qwen3_xml",),
    description="<tool_call><function=NAME><parameter=K>V</parameter></function> (Qwen3-Coder)",
    syntax=_TAGGED,
    variants=(replace(_TAGGED, call_start="<function="),),  # without <tool_call>
    reasoning=Reasoning("<think>", "</think>"),
)
