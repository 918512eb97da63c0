"""IBM Granite 3.x: `<|tool_call|>[{"name": "f", "arguments": {..}}, ...]`.

Granite 3.0 and the models whose vocabulary has `<|tool_call|>` write that token; others write
`<tool_call>`. Both are read; the grammar writes the one its template renders (or, where it
renders no calls, the one its vocabulary has).
"""

from __future__ import annotations

from strictcall.formats.base import Format
from strictcall.formats.bodies import json_list
from strictcall.formats.syntax import Reasoning

TOKEN, TAG = json_list("<|tool_call|>"), json_list("<tool_call>")


GRANITE = Format(
    name="granite",
    description="<|tool_call|>[{json}, ...] or <tool_call>[...] (Granite 3.0-3.3)",
    syntax=TOKEN,
    variants=(TAG,),
    reasoning=Reasoning("<think>", "</think>"),
)
