"""ServiceNow Apriel: `<tool_calls>[{"name": "f", "arguments": {..}}, ...]</tool_calls>`.

Apriel 1.5/1.6 reason first: the prompt opens with "Here are my reasoning steps:" and the
answer follows `[BEGIN FINAL RESPONSE]`. Calls may carry the template's `"id"` key (read, not
needed).
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import json_list
from strictcall.formats.syntax import Reasoning

APRIEL = Format(
    name="apriel",
    description="<tool_calls>[{json}, ...]</tool_calls> (Apriel 1.5, 1.6)",
    syntax=json_list("<tool_calls>", "</tool_calls>"),
    reasoning=Reasoning("Here are my reasoning steps:", "[BEGIN FINAL RESPONSE]"),
)
