"""Hermes / Qwen: `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`.

Used by Qwen2.5, Qwen3 (with `<think>` reasoning), Hermes 2 Pro and Hermes 3.
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody
from strictcall.formats.syntax import CallSyntax, Reasoning

# The body its template shows, written bare at the start of the answer, or in a markdown JSON
# fence: small Qwen models (Qwen2.5-Coder-0.5B) open a call these ways far more often than with
# `<tool_call>`. Without a marker between calls each holds one call.
_BARE = CallSyntax(body=JsonObjectBody(), at_start=True)
_FENCED = CallSyntax(
    section_start="```json\n", section_end="\n```", body=JsonObjectBody(), at_start=True
)

HERMES = Format(
    name="hermes",
    aliases=("qwen", "qwen2_5", "qwen3"),
    description="<tool_call>{json}</tool_call> (Qwen2.5, Qwen3, Hermes 2 Pro, Hermes 3)",
    syntax=CallSyntax(
        call_start="<tool_call>\n",
        call_end="\n</tool_call>",
        separator="\n",
        body=JsonObjectBody(),
    ),
    reasoning=Reasoning("<think>", "</think>"),
    written=(_BARE, _FENCED),
)
