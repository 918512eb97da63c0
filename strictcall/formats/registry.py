"""Every known format by name. Adding a family: one module, one line in `_BUILTIN`."""

from __future__ import annotations

from strictcall.formats.base import Format
from strictcall.formats.deepseek import DEEPSEEK_V3, DEEPSEEK_V31
from strictcall.formats.hermes import HERMES
from strictcall.formats.pythonic import LLAMA4_PYTHONIC, PYTHONIC
from strictcall.formats.qwen3_coder import QWEN3_CODER

_BUILTIN: tuple[Format, ...] = (
    HERMES,
    DEEPSEEK_V3,
    DEEPSEEK_V31,
    PYTHONIC,
    LLAMA4_PYTHONIC,
    QWEN3_CODER,
)

_FORMATS: dict[str, Format] = {}
_ALIASES: dict[str, str] = {}


def register(fmt: Format, *, replace: bool = False) -> Format:
    """Make `fmt` available by its name and aliases (plugins call this too)."""
    if fmt.name in _FORMATS and not replace:
        raise ValueError(f"a format named {fmt.name!r} is already registered")
    _FORMATS[fmt.name] = fmt
    for alias in fmt.aliases:
        _ALIASES[alias] = fmt.name
    return fmt


def get_format(name: str) -> Format:
    """The format called `name` (a vLLM `--tool-call-parser` name or an alias)."""
    key = _ALIASES.get(name, name)
    try:
        return _FORMATS[key]
    except KeyError:
        known = ", ".join(sorted(_FORMATS))
        raise KeyError(f"unknown tool format {name!r}; known formats: {known}") from None


def format_names() -> list[str]:
    return sorted(_FORMATS)


for _fmt in _BUILTIN:
    register(_fmt)
