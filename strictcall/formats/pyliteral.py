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


# ---- a string literal streamed as JSON ---------------------------------------------------------
_JSON_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')
_HEX_WIDTH = {"x": 2, "u": 4, "U": 8}
_OCTAL = "01234567"
_STRING_STOPS = {q: re.compile(rf"[{q}\\\r\n]") for q in "'\""}


def json_chars(text: str) -> str:
    """`text` as the inside of a JSON string (a lone surrogate from an escape stays escaped)."""
    out = json.dumps(text, ensure_ascii=False)[1:-1]
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:
        out = json.dumps(text)[1:-1]
    return out


class StringStream:
    """One single-line Python string literal (after its opening quote) turned into the inside
    of a JSON string as it arrives, so a long string argument streams like a JSON family's.

    Each character is looked at once; only an escape sequence is held until it is complete.
    In double quotes an escape JSON has is read as JSON (what the grammar writes), any other
    as Python reads it, as `literal_json` does.
    """

    def __init__(self, quote: str):
        self.quote = quote
        self.stop = _STRING_STOPS[quote]
        self.escape: list[str] | None = None  # an escape sequence being read
        self.done = False
        self.error: str | None = None

    def feed(self, text: str, pos: int) -> tuple[int, str]:
        """Read on from text[pos:]: (position after what was read, JSON text produced)."""
        out: list[str] = []
        n = len(text)
        while pos < n and not self.done and self.error is None:
            if self.escape is not None:
                pos = self._feed_escape(text, pos, out)
                continue
            m = self.stop.search(text, pos)
            if m is None:
                out.append(json_chars(text[pos:]))
                pos = n
                break
            i = m.start()
            out.append(json_chars(text[pos:i]))
            if m.group() == self.quote:
                self.done = True
            elif m.group() == "\\":
                self.escape = ["\\"]
            else:
                self.error = "a line break inside a one-line string"
                return i, "".join(out)
            pos = i + 1
        return pos, "".join(out)

    def _feed_escape(self, text: str, pos: int, out: list[str]) -> int:
        esc = self.escape
        assert esc is not None
        ch = text[pos]
        kind = esc[1] if len(esc) > 1 else ch
        # octal digits and `\\\r` end where the next character says: it is not consumed
        if len(esc) > 1 and kind in _OCTAL and (ch not in _OCTAL or len(esc) == 4):
            return self._end_escape(pos, out)
        if kind == "\r" and len(esc) == 2 and ch != "\n":
            return self._end_escape(pos, out)
        esc.append(ch)
        pos += 1
        width = _HEX_WIDTH.get(kind)
        complete = (
            (width is not None and len(esc) == 2 + width)
            or (kind == "N" and ch == "}")
            or (kind not in _OCTAL and kind not in "xuUN\r")
            or (kind == "\r" and len(esc) == 3)
        )
        if kind == "N" and len(esc) > 100:
            self.error = "a \\N{...} escape that does not end"
        elif complete:
            return self._end_escape(pos, out)
        return pos

    def _end_escape(self, pos: int, out: list[str]) -> int:
        esc = "".join(self.escape or ())
        self.escape = None
        try:
            if self.quote == '"' and _JSON_ESCAPE.fullmatch(esc):
                value = json.loads(f'"{esc}"')
            else:
                value = ast.literal_eval(f"{self.quote}{esc}{self.quote}")
        except (ValueError, SyntaxError):
            self.error = f"invalid escape {esc!r}"
            return pos
        out.append(json_chars(value))
        return pos
