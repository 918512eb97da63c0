"""Small, safe builders for llguidance's Lark dialect.

Everything a client controls (tool names, enum values, markers) reaches a grammar only through
these functions, so quoting is done in one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from strictcall.grammar.rule_memo import tokens_memo

# Rust's regex crate lets any ASCII punctuation be escaped except `<` and `>` (those escapes mean
# word boundaries). `/` is escaped because it delimits the regex in Lark.
_REGEX_SPECIAL = set(r"\.+*?()|[]{}^$#&-~/\"'!%,:;=@`")


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one per call


def literal(text: str) -> str:
    """A Lark string literal matching `text` exactly (DEL escaped: JSON leaves it raw, and
    llguidance's lexer refuses it raw)."""
    return _ENCODE(text).replace("\x7f", "\\u007f")


def _escape_table() -> dict[int, str]:
    table = {ord(ch): "\\" + ch for ch in _REGEX_SPECIAL}
    table.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
    for code in [*range(0x20), 0x7F]:
        table.setdefault(code, f"\\x{{{code:x}}}")
    return table


_ESCAPES = _escape_table()


def regex_escape(text: str) -> str:
    """Escape `text` for use inside a Lark `/.../` regex (Rust regex syntax)."""
    return text.translate(_ESCAPES)


def token_ref(token_id: int) -> str:
    """Reference one vocabulary token by id (works for any special token's spelling)."""
    return f"<[{token_id}]>"


def split_special(text: str, special_tokens: Mapping[str, int]) -> list[str | int]:
    """`text` cut into plain strings and ids of the special tokens spelled in it (the longest
    spelling wins where several start at one place)."""
    pattern = _specials_pattern(special_tokens)
    if pattern is None:
        return [text] if text else []
    parts: list[str | int] = []
    for i, piece in enumerate(pattern.split(text)):
        if i % 2:
            parts.append(special_tokens[piece])
        elif piece:
            parts.append(piece)
    return parts


# The special tokens' alternation, by the mapping's identity (a tokenizer's mapping lives as
# long as the server; it is kept here so its id cannot be reused).
_PATTERNS: dict[int, tuple[Mapping[str, int], re.Pattern[str] | None]] = {}


def _specials_pattern(special_tokens: Mapping[str, int]) -> re.Pattern[str] | None:
    kept = _PATTERNS.get(id(special_tokens))
    if kept is not None and kept[0] is special_tokens:
        return kept[1]
    names = sorted((t for t in special_tokens if t), key=len, reverse=True)
    pattern = re.compile("(" + "|".join(map(re.escape, names)) + ")") if names else None
    if len(_PATTERNS) > 64:
        _PATTERNS.clear()
    _PATTERNS[id(special_tokens)] = (special_tokens, pattern)
    return pattern


def opens_special(text: str, special_tokens: Mapping[str, int]) -> bool:
    """`text` begins with a special token: free text before it cannot run into it."""
    parts = split_special(text, special_tokens)
    return bool(parts) and isinstance(parts[0], int)


def text_rule(text: str, special_tokens: Mapping[str, int]) -> str:
    """Lark for `text`, where any substring that is a single special token becomes that token.

    Markers like `<tool_call>` are one added token in the families that use them; a grammar that
    spelled them out byte by byte would let the model write them as several ordinary tokens.
    """
    if not text:
        return '""'
    memo = tokens_memo(special_tokens)
    rule = memo.get(text)
    if rule is None:
        rule = " ".join(
            token_ref(p) if isinstance(p, int) else literal(p)
            for p in split_special(text, special_tokens)
        )
        memo[text] = rule
    return rule


def _exclusions(excluded: Iterable[str], leading: Iterable[str]) -> str:
    """One complement of everything refused: `~/A|B/` is `~/A/ & ~/B/`, and llguidance builds
    it with about half the regex derivatives (a cheaper compile for every grammar with text)."""
    refused = []
    words = sorted({w for w in excluded if w})
    if words:
        refused.append(rf"(?s:.*)({'|'.join(regex_escape(w) for w in words)})(?s:.*)")
    leads = sorted({w for w in leading if w})
    if leads:
        # after what the parser skips: Python's whitespace (Unicode's, and \x1c-\x1f)
        refused.append(rf"[\s\x1c-\x1f]*({'|'.join(regex_escape(w) for w in leads)})(?s:.*)")
    return f" & ~/{'|'.join(refused)}/" if refused else ""


def free_text_regex(excluded: Iterable[str], leading: Iterable[str] = ()) -> str:
    """Terminal body for free text that never contains any of `excluded` spelled out, and does
    not begin (after whitespace) with any of `leading`."""
    return r"/(?s:.*)/" + _exclusions(excluded, leading)


def lazy_until_regex(marker: str, excluded: Iterable[str] = (), leading: Iterable[str] = ()) -> str:
    """Regex for a lazy lexeme: any text up to and including the first `marker`; the text
    before it is free of `excluded` (which may be parts of `marker`) and does not begin with
    `leading`."""
    end = f"/{regex_escape(marker)}/"
    excluded, leading = list(excluded), list(leading)
    overlap = not_ending_into(marker)
    if not excluded and not leading and not overlap:
        return rf"/(?s:.*){regex_escape(marker)}/"
    return f"({free_text_regex([marker, *excluded], leading)}{overlap}) {end}"


def not_ending_into(marker: str) -> str:
    """An exclusion for text that `marker` follows: where the marker overlaps itself (`>>>`),
    text ending in its start (`>`) would make its first occurrence begin inside the text."""
    starts = [marker[:j] for j in range(1, len(marker)) if marker[j:] == marker[: len(marker) - j]]
    if not starts:
        return ""
    return rf" & ~/(?s:.*)({'|'.join(regex_escape(w) for w in starts)})/"


def json_rule(schema: object) -> str:
    """An inline `%json` rule body."""
    return "%json " + _ENCODE(schema)
