"""Lark for a tool's argument object, with every leaf schema one `%json` rule shared grammar-wide.

llguidance compiles each `%json` block as a grammar of its own (schema resolved, lexemes and
rules built): about 0.1 ms for a typical tool's arguments, most of a 100-tool compile. Written
as Lark, with each distinct leaf (`{"type": "string"}`, an enum, an array) one `%json` rule that
every tool's arguments share, the same grammar compiles in about half the time.

The rules are what llguidance's JSON compiler builds for an object (its `gen_json_object` and
`ordered_sequence`): `{`, the properties in the schema's order, each the quoted name, the key
separator and the value, the item separator between them (an optional property may be left
out), `}`; no whitespace (JSON_STYLE). Only objects certain to mean the same are written so: a
plain schema (grammar/plain.py: valid, and every part compiles alone, so no property is dropped
as unsatisfiable), closed (`additionalProperties: false`), its required names all listed, names
spelled the same by Python's and llguidance's JSON writers. Anything else stays `%json` whole.
"""

from __future__ import annotations

import re
from typing import Any

from strictcall.grammar.lark import json_rule, literal
from strictcall.grammar.plain import is_plain
from strictcall.grammar.rule_memo import ANNOTATIONS, content_name
from strictcall.grammar.schema import ITEM_SEPARATOR, KEY_SEPARATOR, styled

# Keys llguidance ignores (rule_memo.ANNOTATIONS): dropped from leaves so that leaves which
# differ only in them share one rule.
_OBJECT_KEYS = frozenset({"type", "properties", "required", "additionalProperties"})
# Property names both writers quote alike (no escapes, ASCII only).
_SIMPLE_NAME = re.compile(r"[A-Za-z0-9_.\- $@:/]+")
_KEY_SEP = KEY_SEPARATOR
_QUOTE = '"'
_ITEM_SEP = literal(ITEM_SEPARATOR)


def arguments_rules(rule: str, schema: dict) -> list[tuple[str, str]]:
    """(head, body) rules for arguments valid against `schema` (normalised); the first defines
    `rule`. Rules named `rule_...` are this tool's; `json_<digest>` rules are leaves, named by
    their content, which tools share."""
    if not _writable(schema) or not is_plain(schema):
        return [(rule, json_rule(styled(schema)))]
    return _Object(rule).rules(schema)


def _writable(node: Any) -> bool:
    """An object written as Lark here: closed, with simple names, its parts writable or leaves."""
    if not isinstance(node, dict) or node.get("type") != "object":
        return False
    if not _OBJECT_KEYS.issuperset(node.keys() - ANNOTATIONS):
        return False
    properties = node.get("properties")
    if node.get("additionalProperties") is not False or not isinstance(properties, dict):
        return False
    return all(isinstance(name, str) and _SIMPLE_NAME.fullmatch(name) for name in properties)


class _Object:
    """The rules of one tool's arguments: its objects are `prefix_<n>`, its leaves shared."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.out: list[tuple[str, str]] = []
        self.count = 0

    def rules(self, schema: dict) -> list[tuple[str, str]]:
        body = self._object(schema)
        return [(self.prefix, body), *self.out]

    def _add(self, body: str) -> str:
        self.count += 1
        head = f"{self.prefix}_{self.count}"
        self.out.append((head, body))
        return head

    def _value(self, schema: Any) -> str:
        if _writable(schema):
            return self._add(self._object(schema))
        rule = shared_leaf(schema)
        self.out.append(rule)
        return rule[0]

    def _object(self, schema: dict) -> str:
        required = set(schema.get("required", ()))
        items = [
            # a simple name is quoted without escapes, as llguidance quotes it
            (f"{literal(_QUOTE + name + _QUOTE + _KEY_SEP)} {self._value(sub)}", name in required)
            for name, sub in schema["properties"].items()
        ]
        return _join('"{"', self._sequence(items), '"}"')

    def _sequence(self, items: list[tuple[str, bool]]) -> str:
        """llguidance's ordered_sequence: the items in order, separated; an optional one may be
        left out. `after[i]`: items i.. once one item is written (each then opens with the
        separator); before that, an optional item either begins the sequence or is skipped."""
        branching = not all(required for _, required in items)
        after = [""] * (len(items) + 1)
        for i in range(len(items) - 1, 0, -1):
            item, required = items[i]
            one = f"{_ITEM_SEP} {item}" if required else f"({_ITEM_SEP} {item})?"
            after[i] = _join(one, after[i + 1])
            if branching:  # referenced twice: a rule keeps the grammar linear in the items
                after[i] = self._add(after[i])
        sequence = ""
        for i in range(len(items) - 1, -1, -1):
            item, required = items[i]
            first = _join(item, after[i + 1])
            sequence = first if required else f"({first} | {sequence or _EMPTY})"
        return sequence


_EMPTY = '""'


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def shared_leaf(schema: dict) -> tuple[str, str]:
    """(name, body): a `%json` rule for `schema` without its annotations, named by its
    content, so that every equal leaf of a grammar is one rule (compiled once)."""
    leaf = _stripped(schema)
    kind = leaf.get("type") if len(leaf) == 1 else None
    rule = _SIMPLE_LEAVES.get(kind) if isinstance(kind, str) else None
    return rule if rule is not None else _leaf(leaf)


def _leaf(schema: dict) -> tuple[str, str]:
    body = json_rule(styled(schema))
    return content_name("json", body), body


# The commonest leaves, a bare type, built once.
_SIMPLE_LEAVES = {t: _leaf({"type": t}) for t in ("string", "integer", "number", "boolean", "null")}


def _stripped(schema: Any) -> Any:
    """`schema` without annotations, at every level (a plain schema's subschemas are under
    `properties`, `items` and `additionalProperties`)."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k not in ANNOTATIONS}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _stripped(v) for k, v in out["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = _stripped(out[key])
    return out
