"""Which format a model uses, read from its chat template and special tokens."""

from __future__ import annotations

from strictcall.formats.base import Format
from strictcall.formats.registry import get_format

# (format name, markers that must all appear in the template), most specific first.
_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("openai", ("<|channel|>",)),
    ("hermes", ("<tool_call>",)),
]


def detect_format(template: str, special_tokens: set[str] | None = None) -> Format | None:
    """The format whose markers the template writes, or None when none fits."""
    for name, markers in _RULES:
        if all(m in template for m in markers):
            return get_format(name)
    return None
