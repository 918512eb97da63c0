"""JSON Schema -> Lark for Gemma 4's literal values (`{city:<|"|>Paris<|"|>,days:2}`).

Gemma 4's chat template writes a call's arguments in a syntax of its own: keys bare, strings
raw between `<|"|>` delimiters (one special token; nothing is escaped inside), `true`,
`false`, `null`, JSON numbers, `[..]` and `{..}` with no spaces. The structure comes from
the Python literal rules (grammar/python_literal.py) in this style; a string is the
delimiter, raw text valid against its schema that never spells the delimiter, the delimiter
(grammar/xml_parameters.raw_string_terminal, as XML parameter values are built).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from strictcall.grammar.lark import literal, opens_special, text_rule
from strictcall.grammar.python_literal import LiteralStyle, PythonLiteralRules
from strictcall.grammar.schema import SchemaError
from strictcall.grammar.xml_parameters import raw_string_terminal

QUOTE = '<|"|>'
# Keys written bare (any other key is written between delimiters, as the parser reads both).
BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def gemma_literal(value: Any) -> str:
    """A JSON value as Gemma 4 writes it (its template's `format_argument`)."""
    if isinstance(value, str):
        return QUOTE + value + QUOTE
    if value is True or value is False or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(gemma_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{gemma_key(str(k))}:{gemma_literal(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def gemma_key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else QUOTE + key + QUOTE


class GemmaStyle(LiteralStyle):
    """Gemma 4's spellings. `special_tokens` says whether the delimiter is one token: a
    string's raw text is then a terminal that the delimiter token ends, else a lazy lexeme
    that ends with the delimiter spelled out."""

    true, false, null = "true", "false", "null"
    separator = ","
    colon = ":"
    extra_key = r"/[A-Za-z_][A-Za-z0-9_]*/"

    def __init__(self, special_tokens: Mapping[str, int]):
        self.quote = text_rule(QUOTE, special_tokens)
        self.special = opens_special(QUOTE, special_tokens)  # one token: <|"|>

    def render(self, value: Any) -> str:
        return gemma_literal(value)

    def constant(self, value: Any) -> str:
        out: list[str] = []
        for i, piece in enumerate(self.render(value).split(QUOTE)):
            if i:
                out.append(self.quote)
            if piece:
                out.append(literal(piece))
        return " ".join(out)

    def key(self, key: str, path: str) -> str:
        if QUOTE in key:
            raise SchemaError("properties", path, f"{key!r} cannot be written as a Gemma key")
        if BARE_KEY.fullmatch(key):
            return literal(key + self.colon)
        inside = f" {literal(key)}" if key else ""  # an empty literal is not a lexeme
        return f"{self.quote}{inside} {self.quote} {literal(self.colon)}"

    def key_text(self, key: str) -> str:
        return key

    def string(self, rules: PythonLiteralRules, schema: dict, path: str) -> str:
        close = "" if self.special else QUOTE
        terminal = raw_string_terminal(schema, path, close, (QUOTE,))
        name = rules.add(terminal, terminal=True)
        if not self.special:
            name = rules.add(name, lazy=True)
            return rules.add(f"{self.quote} {name}")
        return rules.add(f"{self.quote} {name} {self.quote}")


def gemma_arguments_lark(
    rule: str, schema: dict, special_tokens: Mapping[str, int]
) -> list[tuple[str, str]]:
    """Rules for one tool's arguments as Gemma 4 writes them (`{...}`); `rule` first."""
    return PythonLiteralRules(rule, schema, GemmaStyle(special_tokens)).object_arguments(rule)
