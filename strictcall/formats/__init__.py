"""Tool-call formats: declarations, grammars and incremental parsers, usable as a library.

fmt = get_format("hermes")
result = fmt.parse(text, tools)          # .content, .reasoning, .tool_calls
parser = fmt.stream(tools)               # .feed(delta) / .close() -> list[Delta]
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody, NamedJsonBody
from strictcall.formats.constraint import ConstraintSpec, ToolSpec
from strictcall.formats.registry import format_names, get_format, load_plugin, register
from strictcall.formats.syntax import CallSyntax, Reasoning
from strictcall.formats.types import Delta, ParseResult, ToolCall

__all__ = [
    "CallSyntax",
    "ConstraintSpec",
    "Delta",
    "Format",
    "JsonObjectBody",
    "NamedJsonBody",
    "ParseResult",
    "Reasoning",
    "ToolCall",
    "ToolSpec",
    "format_names",
    "get_format",
    "load_plugin",
    "register",
]
