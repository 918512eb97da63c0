"""Cohere Command R7B: `<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "f", "parameters":
{..}}, ...]<|END_ACTION|>`.

Reasoning sits between `<|START_THINKING|>` and `<|END_THINKING|>`; a plain answer is wrapped in
`<|START_RESPONSE|>`...`<|END_RESPONSE|>` (control tokens, hidden from the text). The grammar
writes the name and the parameters; the parser also reads the template's `tool_call_id`.
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody, json_list
from strictcall.formats.syntax import Reasoning

COMMAND_R7B = Format(
    name="command_r7b",
    aliases=("cohere", "command_r"),
    description="<|START_ACTION|>[{tool_name, parameters}, ...]<|END_ACTION|> (Command R7B)",
    syntax=json_list(
        "<|START_ACTION|>",
        "<|END_ACTION|>",
        body=JsonObjectBody(name_key="tool_name", args_key="parameters"),
    ),
    reasoning=Reasoning("<|START_THINKING|>", "<|END_THINKING|>"),
)
