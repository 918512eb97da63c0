"""Hermes / Qwen: `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`.

Used by Qwen2.5, Qwen3 (with `<think>` reasoning), Hermes 2 Pro and Hermes 3.
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody
from strictcall.formats.syntax import CallSyntax, Reasoning

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
)
