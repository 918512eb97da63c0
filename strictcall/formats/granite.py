"""IBM Granite 3.x: `<|tool_call|>[{"name": "f", "arguments": {..}}, ...]`.

Granite 3.0 and the models whose vocabulary has `<|tool_call|>` write that token; others write
`<tool_call>`. Both are read; the grammar writes the one the model has.
"""

from __future__ import annotations

from collections.abc import Collection

from strictcall.formats.base import Format
from strictcall.formats.bodies import json_list
from strictcall.formats.syntax import CallSyntax, Reasoning

TOKEN, TAG = json_list("<|tool_call|>"), json_list("<tool_call>")


def _marker(template: str, special_tokens: Collection[str]) -> CallSyntax:
    if "<|tool_call|>" in special_tokens:
        return TOKEN
    if "<tool_call>" in special_tokens or (
        "<tool_call>" in template and "<|tool_call|>" not in template
    ):
        return TAG
    return TOKEN


GRANITE = Format(
    name="granite",
    description="<|tool_call|>[{json}, ...] or <tool_call>[...] (Granite 3.0-3.3)",
    syntax=TOKEN,
    variants=(TAG,),
    pick=_marker,
    reasoning=Reasoning("<think>", "</think>"),
)
