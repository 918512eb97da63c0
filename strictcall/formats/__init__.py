"""Tool-call formats: declarations, grammars and incremental parsers, usable as a library.

fmt = get_format("hermes")
result = fmt.parse(text, tools)          # .content, .reasoning, .tool_calls
parser = fmt.stream(tools)               # .feed(delta) / .close() -> list[Delta]
"""

from strictcall.formats.base import Format
from strictcall.formats.constraint import ConstraintSpec, ToolSpec
from strictcall.formats.registry import format_names, get_format, register
from strictcall.formats.types import Delta, ParseResult, ToolCall

__all__ = [
    "ConstraintSpec",
    "Delta",
    "Format",
    "ParseResult",
    "ToolCall",
    "ToolSpec",
    "format_names",
    "get_format",
    "register",
]
