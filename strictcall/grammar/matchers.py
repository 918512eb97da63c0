"""Compiled grammars kept by their text, Lark texts kept by what they were built from, and
each tool's argument rules kept by its schema.

An agent sends the same tools, mode and format every turn. The first request pays for the
schema checks, the Lark and llguidance's compile; a repeated one finds the Lark by the objects
it was built from and a compiled matcher by the Lark's text, and gets a deep copy of it (tens
of microseconds instead of tens of milliseconds). A new tool set made of tools seen before
reuses their argument rules and builds only the rest of its Lark.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import llguidance


class InvalidGrammar(ValueError):
    """llguidance refused a grammar; the message is its first line."""


class MatcherCache:
    """Pristine matchers by grammar text, for one tokenizer; hands out deep copies.

    A grammar's first mask is computed once: a deep copy of a matcher that has computed its
    mask computes its own almost for free (0.01 ms instead of ~0.5 ms on a 152k vocabulary).
    The first request's matcher computes that mask anyway (over its prefill), so the engine
    hands it back through `keep_warm` before consuming a token, and a copy of it is kept in
    place of the pristine one: the next request with the same grammar (an agent's next turn)
    gets a warm copy, and no thread ever computes a mask nobody asked for. A kept matcher is
    never touched again, only copied, so copies may be taken from any thread.
    """

    def __init__(self, lltok: llguidance.LLTokenizer, size: int = 64):
        self.lltok = lltok
        self.size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[llguidance.LLMatcher, bool]] = OrderedDict()

    def matcher(self, grammar: str) -> llguidance.LLMatcher:
        """A fresh matcher for `grammar` (Lark); InvalidGrammar if llguidance refuses it."""
        with self._lock:
            kept = self._kept.get(grammar)
            if kept is not None:
                self._kept.move_to_end(grammar)
        if kept is not None:
            return kept[0].deep_copy()
        pristine = llguidance.LLMatcher(
            self.lltok, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0
        )
        if pristine.is_error():
            raise InvalidGrammar(pristine.get_error().strip().splitlines()[0][:500])
        self._keep(grammar, pristine, warm=False)
        return pristine.deep_copy()

    def keep_warm(self, grammar: str, matcher: llguidance.LLMatcher) -> None:
        """`matcher`, handed out for `grammar`, has computed its first mask and consumed no
        token yet: unless the kept one is warm already, keep a copy of it instead (~1 us).
        A matcher in error (a lexer budget spent on that mask) is not kept."""
        if matcher.is_error():
            return
        with self._lock:
            kept = self._kept.get(grammar)
            if kept is not None and not kept[1]:
                self._kept[grammar] = (matcher.deep_copy(), True)

    def is_warm(self, grammar: str) -> bool:
        """Whether the kept matcher for `grammar` has computed its first mask."""
        with self._lock:
            kept = self._kept.get(grammar)
        return kept is not None and kept[1]

    def _keep(self, grammar: str, matcher: llguidance.LLMatcher, warm: bool) -> None:
        with self._lock:
            self._kept[grammar] = (matcher, warm)
            self._kept.move_to_end(grammar)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


class LarkMemo:
    """Lark texts by the constraint they were built from.

    The key is the constraint's fields, where a nested dict (a tool's normalised schema) counts
    by identity: check_tool_parameters hands out the same object for the same schema text, so
    a repeated tool set is found without reading its schemas again. A flat mapping (the
    tokenizer's special tokens) counts by its items. The memo holds the objects it counts by
    identity, so their ids cannot be reused while it keeps the entry; they are never mutated
    (check_tool_parameters' contract).
    """

    def __init__(self, size: int = 256):
        self.size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, tuple[str | None, list[Any]]] = OrderedDict()

    def lark(self, owner: object, spec: Any, build: Callable[[], str | None]) -> str | None:
        """`build()`'s result for `spec` under `owner` (the format object, counted by identity:
        two servers in one process may hold differently configured formats of one name),
        built once. Exceptions are not kept."""
        pinned: list[Any] = [owner]
        key = (id(owner), _frozen(spec, pinned))
        with self._lock:
            hit = self._kept.get(key)
            if hit is not None:
                self._kept.move_to_end(key)
                return hit[0]
        grammar = build()
        with self._lock:
            self._kept[key] = (grammar, pinned)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return grammar

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


class ArgumentsMemo:
    """One tool's argument rules by the body that writes them and its normalised schema.

    The schema counts by identity, as in LarkMemo (the entry holds it, so its id cannot be
    reused). Every entry's rules are built under a name of their own, `args_<serial>`, so the
    rules of any entries can stand together in one grammar, and tools with one schema share
    theirs. The names depend on what the process has seen; the grammar they make does not.
    Single dict operations need no lock (the GIL makes each atomic); a race builds twice.
    """

    def __init__(self, size: int = 4096):
        self.size = size
        self._kept: dict[
            tuple[int, Hashable, int], tuple[dict, Mapping[str, int], list[tuple[str, str]]]
        ] = {}
        self._serial = itertools.count()

    def rules(
        self, body: Any, schema: dict, special_tokens: Mapping[str, int]
    ) -> list[tuple[str, str]]:
        """`body.arguments_lark(name, schema, special_tokens)`, built once; its first rule
        defines the name it returns. The tokens count by identity too (a server's tokenizer
        keeps one mapping; the entry holds it). Exceptions (refusals) are not kept. Never
        mutate the result."""
        key = (id(schema), body, id(special_tokens))
        hit = self._kept.get(key)
        if hit is not None:
            return hit[2]
        rules = body.arguments_lark(f"args_{next(self._serial)}", schema, special_tokens)
        if len(self._kept) >= self.size:
            self._kept.clear()  # a flood of distinct schemas costs their rules, never memory
        self._kept[key] = (schema, special_tokens, rules)
        return rules

    def clear(self) -> None:
        self._kept.clear()


def _frozen(value: Any, pinned: list[Any]) -> Hashable:
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, tuple | list):
        return tuple(_frozen(v, pinned) for v in value)
    if isinstance(value, dict | Mapping):
        items = tuple(value.items())
        if all(v is None or isinstance(v, str | int | float) for _, v in items):
            return ("map", items)  # flat (special tokens, a leaf schema): by content, in order
        pinned.append(value)
        return ("id", id(value))
    names = _FIELDS.get(type(value))
    if names is None:
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            hash(value)  # anything else must be a plain hashable value
            return value
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    return (type(value), *(_frozen(getattr(value, n), pinned) for n in names))


_FIELDS: dict[type, tuple[str, ...]] = {}
