"""Small, safe builders for llguidance's Lark dialect.

Everything a client controls (tool names, enum values, markers) reaches a grammar only through
these functions, so quoting is done in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

# Rust's regex crate lets any ASCII punctuation be escaped except `<` and `>` (those escapes mean
# word boundaries). `/` is escaped because it delimits the regex in Lark.
_REGEX_SPECIAL = set(r"\.+*?()|[]{}^$#&-~/\"'!%,:;=@`")


def literal(text: str) -> str:
    """A Lark string literal matching `text` exactly."""
    return json.dumps(text, ensure_ascii=False)


def regex_escape(text: str) -> str:
    """Escape `text` for use inside a Lark `/.../` regex (Rust regex syntax)."""
    out = []
    for ch in text:
        if ch in _REGEX_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return "".join(out)


def token_ref(token_id: int) -> str:
    """Reference one vocabulary token by id (works for any special token's spelling)."""
    return f"<[{token_id}]>"


def split_special(text: str, special_tokens: Mapping[str, int]) -> list[str | int]:
    """`text` cut into plain strings and ids of the special tokens spelled in it."""
    parts: list[str | int] = []
    names = sorted((t for t in special_tokens if t and t in text), key=len, reverse=True)
    i = 0
    pending: list[str] = []
    while i < len(text):
        hit = next((t for t in names if text.startswith(t, i)), None)
        if hit is None:
            pending.append(text[i])
            i += 1
            continue
        if pending:
            parts.append("".join(pending))
            pending = []
        parts.append(special_tokens[hit])
        i += len(hit)
    if pending:
        parts.append("".join(pending))
    return parts


def is_special(text: str, special_tokens: Mapping[str, int]) -> bool:
    """`text` is made of special tokens only (a model cannot spell it as ordinary text)."""
    return bool(text) and all(isinstance(p, int) for p in split_special(text, special_tokens))


def text_rule(text: str, special_tokens: Mapping[str, int]) -> str:
    """Lark for `text`, where any substring that is a single special token becomes that token.

    Markers like `<tool_call>` are one added token in the families that use them; a grammar that
    spelled them out byte by byte would let the model write them as several ordinary tokens.
    """
    if not text:
        return '""'
    return " ".join(
        token_ref(p) if isinstance(p, int) else literal(p)
        for p in split_special(text, special_tokens)
    )


def _exclusions(excluded: Iterable[str], leading: Iterable[str]) -> str:
    out = ""
    words = sorted({w for w in excluded if w})
    if words:
        out += rf" & ~/(?s:.*)({'|'.join(regex_escape(w) for w in words)})(?s:.*)/"
    leads = sorted({w for w in leading if w})
    if leads:
        # after what the parser skips: Python's whitespace (Unicode's, and \x1c-\x1f)
        out += rf" & ~/[\s\x1c-\x1f]*({'|'.join(regex_escape(w) for w in leads)})(?s:.*)/"
    return out


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
    if not excluded and not leading:
        return rf"/(?s:.*){regex_escape(marker)}/"
    return f"({free_text_regex([marker, *excluded], leading)}) {end}"


def json_rule(schema: object) -> str:
    """An inline `%json` rule body."""
    return "%json " + json.dumps(schema, ensure_ascii=False, sort_keys=False)
