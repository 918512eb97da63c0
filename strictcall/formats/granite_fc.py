"""Granite 20B function calling: `<function_call> {"name": "f", "arguments": {..}}`, repeated."""

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody
from strictcall.formats.syntax import CallSyntax

GRANITE_20B_FC = Format(
    name="granite-20b-fc",
    aliases=("granite_20b_fc",),
    description="<function_call> {json} per call (granite-20b-functioncalling)",
    syntax=CallSyntax(call_start="<function_call> ", separator="\n", body=JsonObjectBody()),
)
