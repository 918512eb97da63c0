"""Llama 3.1 / 3.2 / 3.3 JSON tool calls: `{"name": "f", "parameters": {..}}`.

There is no start marker: a JSON object that opens the answer is a call (optionally after
`<|python_tag|>`); several are separated by `; `. The grammar writes "parameters", as the
templates do; the parser also reads "arguments".
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody
from strictcall.formats.syntax import CallSyntax

# without a marker, an object must have both keys to be a call (not just a JSON answer)
_BODY = JsonObjectBody(args_key="parameters", aliases=("arguments",), args_required=True)

LLAMA3_JSON = Format(
    name="llama3_json",
    aliases=("llama3", "llama3.1", "llama3.2", "llama3.3"),
    description='{"name": .., "parameters": {..}}; ... at the start (Llama 3.1, 3.2, 3.3)',
    syntax=CallSyntax(at_start=True, separator="; ", body=_BODY),
    variants=(CallSyntax(section_start="<|python_tag|>", separator="; ", body=_BODY),),
)
