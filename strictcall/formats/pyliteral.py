"""Reading Python literals as JSON text.

Pythonic tool calls write arguments as Python literals (`'SF'`, `True`, `None`, `[1, 2]`);
clients receive JSON (writing literals: grammar.python_literal.python_literal). Literals are
read, never evaluated: the text is parsed with `ast` and each node is mapped to JSON or
refused. Double-quoted strings are read with JSON's rules (what the grammar writes) and fall
back to Python's.
"""

from __future__ import annotations

import ast
import json
import math
import re

# JSON spellings models mix into Python literals
_JSON_NAMES = {"true": "true", "false": "false", "null": "null"}
# lines as Python's tokenizer ends them (\r\n, \n, \r), endings kept
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def literal_json(text: str) -> str:
    """One Python literal as JSON text; ValueError when `text` is not a literal.

    Numbers keep their spelling where it is JSON already (no float round trip).
    """
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval")
        return _json(tree.body, _Source(source))
    except (SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(f"not a Python literal: {exc}") from None


class _Source:
    """The text of a node, in time proportional to it (ast.get_source_segment re-splits the
    whole source on every call: quadratic over a long list)."""

    def __init__(self, source: str):
        self.lines = _LINE.findall(source)
        self.encoded: dict[int, bytes] = {}

    def _line(self, number: int) -> bytes:
        if number not in self.encoded:
            self.encoded[number] = self.lines[number - 1].encode("utf-8")
        return self.encoded[number]

    def segment(self, node: ast.expr) -> str:
        first, last = node.lineno, node.end_lineno or node.lineno
        start, end = node.col_offset, node.end_col_offset
        if first == last:
            return self._line(first)[start:end].decode("utf-8")
        pieces = [self._line(first)[start:]]
        pieces += [self._line(n) for n in range(first + 1, last)]
        pieces.append(self._line(last)[:end])
        return b"".join(pieces).decode("utf-8")


def _json(node: ast.AST, source: _Source) -> str:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            text = _string(node, source)
            out = json.dumps(text, ensure_ascii=False)
            try:
                out.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate (from an escape): keep it escaped
                out = json.dumps(text)
            return out
        if value is None or isinstance(value, bool):
            return json.dumps(value)
        if isinstance(value, int | float):
            return _number(node, source)
        raise ValueError(f"{type(value).__name__} is not a JSON value")
    if isinstance(node, ast.Name) and node.id in _JSON_NAMES:
        return _JSON_NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = node.operand
        if not isinstance(operand, ast.Constant) or isinstance(operand.value, bool):
            raise ValueError("a sign only goes before a number")
        number = _json(operand, source)
        if not isinstance(operand.value, int | float) or number.startswith("-"):
            raise ValueError("a sign only goes before a number")
        return "-" + number if isinstance(node.op, ast.USub) and number != "0" else number
    if isinstance(node, ast.List | ast.Tuple):
        return "[" + ", ".join(_json(item, source) for item in node.elts) + "]"
    if isinstance(node, ast.Dict):
        items = []
        for key, item in zip(node.keys, node.values, strict=True):
            if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
                raise ValueError("object keys must be strings")
            items.append(f"{_json(key, source)}: {_json(item, source)}")
        return "{" + ", ".join(items) + "}"
    raise ValueError(f"{type(node).__name__} is not a literal")


def _number(node: ast.Constant, source: _Source) -> str:
    segment = source.segment(node)
    if _JSON_NUMBER.fullmatch(segment):
        return segment
    value = node.value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    return json.dumps(value)


def _string(node: ast.Constant, source: _Source) -> str:
    segment = source.segment(node)
    if segment.startswith('"'):
        try:
            value = json.loads(segment)
        except ValueError:
            pass
        else:
            if isinstance(value, str):
                return value
    return str(node.value)  # a str constant (the caller checked)
