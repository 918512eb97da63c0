"""strictcall: an OpenAI-compatible server whose tool calls are valid by construction."""

from strictcall.formats import Delta, ParseResult, ToolCall, get_format

__version__ = "0.1.0"
__all__ = ["Delta", "ParseResult", "ToolCall", "__version__", "get_format"]
