"""Rules shared across tools: named by their text, and kept by what they were written from.

llguidance compiles every rule it is given, alike or not: two tools' equal parameters written as
two sets of rules cost twice. A rule named by its text (`content_name`) is one rule wherever it
is written. And most values of a tool set are alike (`{"type": "string"}` with a description),
so a value's rules are kept by its schema and written once (`kept_value`), as are the Lark
pieces of a family's markers (lark.text_rule).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any

Rules = list[tuple[str, str]]
# Keys llguidance ignores (its META_AND_ANNOTATIONS), and no rule here reads: schemas that
# differ only in them are written alike.
ANNOTATIONS = frozenset({"description", "title", "$comment", "default", "examples"})


def content_name(prefix: str, body: str) -> str:
    """A rule name made from the rule's text: rules written alike anywhere in a grammar get one
    name, so the grammar holds one rule, compiled once."""
    return f"{prefix}_{hashlib.blake2b(body.encode(), digest_size=8).hexdigest()}"


def named_rule(
    prefix: str, body: str, terminal: bool = False, lazy: bool = False
) -> tuple[str, str]:
    """(head, name) of a rule, a terminal or a lazy rule named by its text."""
    name = content_name(f"{prefix}_lazy" if lazy else prefix, body)
    if terminal:
        return name.upper(), name.upper()  # Lark: a terminal's name is upper case
    return (f"{name}[lazy]" if lazy else name), name


def tokens_memo(special_tokens: Mapping[str, int]) -> dict[Hashable, Any]:
    """A memo of Lark pieces written with one tokenizer's special tokens (kept by the mapping's
    identity: a server's tokenizer keeps one, and the memo holds it, so its id is not reused).
    Keys are namespaced by their callers; a full memo starts over."""
    kept = _MEMOS.get(id(special_tokens))
    if kept is None or kept[0] is not special_tokens:
        if len(_MEMOS) > 64:
            _MEMOS.clear()
        kept = _MEMOS[id(special_tokens)] = (special_tokens, {})
    if len(kept[1]) >= 8192:
        kept[1].clear()
    return kept[1]


_MEMOS: dict[int, tuple[Mapping[str, int], dict[Hashable, Any]]] = {}
# No special tokens (a grammar built without a tokenizer spells every marker out), one shared
# mapping: what is kept by the mapping's identity is found again.
NO_TOKENS: Mapping[str, int] = MappingProxyType({})


def clear_memos() -> None:
    """Forget everything kept (a benchmark's first-time request)."""
    _MEMOS.clear()


def kept_value(
    memo: dict[Hashable, Any],
    how: Hashable,
    schema: Any,
    root: dict,
    rules: Rules,
    build: Callable[[], str],
    own: str | None = None,
) -> str:
    """`build()`: the name of a value's rule, which appends the rules it needs to `rules`. Those
    are kept under the value's schema (annotations left out) and `how` it is written, and
    appended again for an equal schema, where they depend on nothing but the schema: not on
    the tool's definitions (no `$ref`, no `$defs` in the tool) and, with `own` (the prefix of
    the names of the tool's own rules, those referred to before they are written), on none of
    those. Refusals are not kept."""
    if not isinstance(schema, dict) or "$defs" in root or "definitions" in root:
        return build()
    text = json.dumps({k: v for k, v in schema.items() if k not in ANNOTATIONS}, sort_keys=True)
    if '"$ref"' in text:
        return build()
    key = (how, text)
    hit = memo.get(key)
    if hit is not None:
        rules += hit[1]
        return hit[0]
    start = len(rules)
    name = build()
    made = rules[start:]
    if own is None or (own not in name and not any(own in body for _, body in made)):
        memo[key] = (name, made)
    return name
