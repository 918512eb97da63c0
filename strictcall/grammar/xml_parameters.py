"""JSON Schema -> Lark for XML parameters (Qwen3-Coder: `<parameter=city>\\nParis\\n</parameter>`).

A parameter's value is written raw when it is a string and as JSON otherwise, as the models
are trained. So a schema is split into the strings it admits (each becomes a regex over raw
text: enum, length and pattern enforced) and everything else (llguidance's `%json`).
A raw string ends at the first `\\n</parameter>` and never contains a parameter marker, and
where a parameter also admits other types, a raw string never looks like one of them (a
number, `true`, `null`, or text starting with `[`/`{`): the parser reads exactly that.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import llguidance

from strictcall.grammar.json_lark import shared_leaf
from strictcall.grammar.lark import opens_special, regex_escape, text_rule
from strictcall.grammar.python_literal import (
    ALL_TYPES,
    NUMBER_KEYS,
    OBJECT_KEYS,
    STRING_KEYS,
    choices,
    one_of,
    resolve_ref,
    schema_types,
    significant,
    value_kind,
)
from strictcall.grammar.rule_memo import NO_TOKENS, kept_value, named_rule, tokens_memo
from strictcall.grammar.schema import SchemaError, check_compiles


@dataclass(frozen=True)
class XmlTags:
    """How one family writes XML parameters. A parameter is `key_open KEY key_close`, the
    value between `layout`s, `value_close`, then `separator`; `function_close` ends the call.
    Whitespace inside `key_close` is layout (the parser takes any there).

    The default is Qwen3-Coder's `<parameter=K>\nV\n</parameter>\n` ... `</function>`.
    """

    name_end: str = ">\n"  # after the function's name
    key_open: str = "<parameter="
    key_close: str = ">"
    value_close: str = "</parameter>"
    layout: str = "\n"  # written around each value; one such newline on each side is layout
    separator: str = "\n"
    function_close: str = "</function>"
    # Where the opening says the value's type: the key's closing for values written as JSON,
    # one for every kind (DeepSeek V3.2's `" string="false">`) or one per JSON kind, as
    # (kind, closing) pairs (Kimi K3's `" type="number"<|sep|>`); `key_close` is then the one
    # for raw strings.
    typed_key_close: str | tuple[tuple[str, str], ...] = ""
    # Written after the function's name, then the call's number, then `name_end` (Kimi K3's
    # `" index="`).
    call_index: str = ""
    # Written after the name, then the name again, then `name_end` (muse-glimmer's header
    # names the recipient, `<|message|><atem:function_calls>\n<atem:invoke name="`, and the
    # invoke names it again): the parser holds the two to be the same.
    name_repeat: str = ""

    def again(self, name: str) -> str:
        """What follows the name where it is written twice ("" where it is not)."""
        return self.name_repeat + name if self.name_repeat else ""

    def typed_close(self, kind: str) -> str:
        """The key's closing for a value of JSON `kind` written as JSON."""
        if isinstance(self.typed_key_close, str):
            return self.typed_key_close
        return dict(self.typed_key_close)[kind]

    @property
    def typed_closes(self) -> tuple[str, ...]:
        """Every closing that says a value is JSON."""
        if isinstance(self.typed_key_close, str):
            return (self.typed_key_close,) if self.typed_key_close else ()
        return tuple(dict.fromkeys(c for _, c in self.typed_key_close))

    @property
    def markers(self) -> tuple[str, ...]:
        """Texts that end a value or start the next part; a raw value never contains them."""
        return (self.value_close, self.key_open, self.function_close)

    @property
    def close(self) -> str:
        """What ends every value."""
        return self.layout + self.value_close

    @property
    def opening(self) -> str:
        """What follows a key, up to the value."""
        return self.key_close + self.layout


QWEN_TAGS = XmlTags()
MARKERS = QWEN_TAGS.markers
NON_STRING = [t for t in ALL_TYPES if t != "string"]
# Raw text the parser would read as another type (see formats/xml_params.decode_value).
INTEGER = r"-?(0|[1-9][0-9]*)"
NUMBER = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"
# Raw text that reads as each JSON kind (what decode_value takes for it).
KIND_PATTERNS = {
    "integer": INTEGER,
    "number": NUMBER,
    "boolean": "(?i:true|false)",
    "null": "(?i:null|none)",
    "array": r"\[(?s:.*)",
    "object": r"\{(?s:.*)",
}
_NAME_FORBIDDEN = re.compile(r"[<>\s\"]")
_EXTRA_NAME = r"/[A-Za-z0-9_.\-]+/"


def looks_typed(kinds: frozenset[str]) -> str:
    """Regex for raw text the parser reads as one of `kinds` (so not as a string)."""
    names = [k for k in KIND_PATTERNS if k in kinds and not (k == "integer" and "number" in kinds)]
    return rf"[ \t\r\n]*({'|'.join(KIND_PATTERNS[k] for k in names)})[ \t\r\n]*"


def kinds_of(others: list[dict]) -> frozenset[str]:
    """The JSON kinds (besides string) that `others` (split_value's second half) admit."""
    out: set[str] = set()
    for schema in others:
        if "enum" in schema:
            out |= {value_kind(v) for v in schema["enum"]}
        else:
            kind = schema.get("type", NON_STRING)
            out |= set(kind) if isinstance(kind, list) else {kind}
    return frozenset(out)


def value_kinds(schema, root: dict) -> tuple[bool, frozenset[str]]:
    """(whether a raw string is admitted, the other JSON kinds admitted) for one parameter."""
    strings, others = split_value(schema, root, "#")
    return bool(strings), kinds_of(others)


def split_value(schema, root: dict, path: str, seen: tuple[str, ...] = ()):
    """(string schemas written raw, other schemas written as JSON) of one parameter."""
    if schema is True or schema == {}:
        return [{"type": "string"}], [{"type": NON_STRING}]
    if not isinstance(schema, dict):
        raise SchemaError("$", path, "a schema that admits nothing cannot be called with")
    keys = significant(schema)
    whole = sorted(keys & {"not", "if", "then", "else"})
    if whole:
        raise SchemaError(whole[0], path, "XML parameters cannot enforce it")
    if "$ref" in schema:
        ref = schema["$ref"]
        if keys - {"$ref"}:
            raise SchemaError("$ref", path, "keywords next to $ref cannot be combined")
        if ref in seen:
            raise SchemaError("$ref", path, "a parameter cannot be only a recursive reference")
        return split_value(resolve_ref(ref, root, path), root, ref, (*seen, ref))
    for combinator in ("anyOf", "oneOf"):
        if combinator not in schema:
            continue
        if keys - {combinator}:
            raise SchemaError(combinator, path, f"keywords next to {combinator} cannot be combined")
        branches = schema[combinator]
        if combinator == "oneOf":
            branches = one_of(schema, root, path, "XML parameters")
        strings, others = [], []
        for i, branch in enumerate(branches):
            s, o = split_value(branch, root, f"{path}/{combinator}/{i}", seen)
            strings += s
            others += o
        return strings, others
    if "allOf" in schema:
        if len(schema["allOf"]) != 1 or keys - {"allOf"}:
            raise SchemaError("allOf", path, "a parameter's schema cannot combine schemas")
        return split_value(schema["allOf"][0], root, f"{path}/allOf/0", seen)
    if "enum" in schema or "const" in schema:
        values = [schema["const"]] if "const" in schema else list(schema["enum"])
        values = choices(values, schema, root)
        strings = [v for v in values if isinstance(v, str)]
        others = [v for v in values if not isinstance(v, str)]
        return ([{"enum": strings}] if strings else []), ([{"enum": others}] if others else [])
    types = schema_types(schema)
    strings = [{"type": "string", **_pick(schema, STRING_KEYS)}] if "string" in types else []
    non = [t for t in types if t != "string"]
    others = []
    if non:
        rest = {k: v for k, v in schema.items() if k not in STRING_KEYS and k != "type"}
        others = [{**rest, "type": non[0] if len(non) == 1 else non}]
    return strings, others


class XmlParameterRules:
    """Collects the rules for one tool's parameters."""

    def __init__(
        self,
        root: dict,
        tags: XmlTags = QWEN_TAGS,
        special_tokens: Mapping[str, int] | None = None,
    ):
        self.root = root
        self.tags = tags
        self.special_tokens = special_tokens or NO_TOKENS
        self.rules: list[tuple[str, str]] = []

    def _add(self, body: str, terminal: bool = False, lazy: bool = False) -> str:
        """A rule (a terminal, a lazy rule) named by its text. A value's rules refer only to
        rules named so, so equal values of any parameters and tools share theirs: a 100-tool
        grammar of XML parameters has a third of the rules and compiles in two thirds of the
        time."""
        head, name = named_rule("xv", body, terminal, lazy)
        self.rules.append((head, body))
        return name

    def parameters(self, rule: str) -> list[tuple[str, str]]:
        """Rules for the parameters of one call, in the schema's order; `rule` first."""
        root = self.root
        extra = significant(root) - OBJECT_KEYS - {"type"}
        if extra:
            raise SchemaError(sorted(extra)[0], "#", "XML parameters cannot enforce it")
        properties = root.get("properties") or {}
        required = set(root.get("required", ()))
        if required - set(properties):
            raise SchemaError("required", "#", "required parameters must be in properties")
        tags = self.tags
        opening = "" if tags.typed_key_close else tags.opening  # then inside the value
        sep = f" {self._text(tags.separator)}" if tags.separator else ""
        parts = []
        for key, sub in properties.items():
            if not key or _NAME_FORBIDDEN.search(key):
                raise SchemaError("properties", "#", f"{key!r} cannot be a parameter name")
            value = self.value(sub, f"#/properties/{key}")
            one = f"{self._text(tags.key_open + key + opening)} {value}{sep}"
            parts.append(one if key in required else f"({one})?")
        additional = root.get("additionalProperties", True)
        if additional is not False:
            name = _EXTRA_NAME
            if properties:
                taken = "|".join(regex_escape(k) for k in properties)
                name += f" & ~/({taken})/"
            name = self._add(name, terminal=True)
            value = self.value(additional, "#/additionalProperties")
            head = f" {self._text(opening)}" if opening else ""
            parts.append(f"({self._text(tags.key_open)} {name}{head} {value}{sep})*")
        return [(rule, " ".join(parts) or '""'), *self.rules]

    def _text(self, text: str) -> str:
        """Lark for fixed text, its special tokens as tokens."""
        return text_rule(text, self.special_tokens)

    def value(self, schema, path: str) -> str:
        """A rule for one value and the `\\n</parameter>` after it. Rules are named by their
        text, so a value's rules are kept by its schema: most parameters of a tool set are
        alike (`{"type": "string"}` with a description), and each shape is written once."""
        memo = tokens_memo(self.special_tokens)
        return kept_value(
            memo,
            ("xml value", self.tags),
            schema,
            self.root,
            self.rules,
            lambda: self._value(schema, path),
        )

    def _value(self, schema, path: str) -> str:
        strings, others = split_value(schema, self.root, path)
        tags = self.tags
        said = bool(tags.typed_key_close)  # the opening says which type: nothing to avoid
        kinds = frozenset() if said else kinds_of(others)
        raw_head = f"{self._text(tags.opening)} " if said else ""
        alternatives = [raw_head + self._raw(s, path, kinds) for s in strings]
        if others and strings and not said:
            # llguidance lexes greedily and never backs up across lexemes: a typed value that
            # could also begin a raw string must be a lazy lexeme ending where the raw one
            # does. Only lists and objects (which no raw string here starts like) use %json.
            scalars, containers = _scalars_and_containers(others, path)
            if scalars:
                pattern = "|".join(dict.fromkeys(scalars))
                terminal = f"/({pattern}){regex_escape(self.tags.close)}/"
                name = self._add(terminal, terminal=True)
                alternatives.append(self._add(name, lazy=True))
            others = containers
        close = self._text(tags.close)
        if others and said:  # one alternative per closing the opening may say
            for closing, group in _by_closing(tags, others):
                head = self._text(closing + tags.layout)
                alternatives.append(f"{head} {self._json(group, path)} {close}")
        elif others:
            alternatives.append(f"{self._json(others, path)} {close}")
        if not alternatives:
            raise SchemaError("type", path, "no value satisfies the schema")
        if len(alternatives) == 1 and " " not in alternatives[0]:
            return alternatives[0]
        return self._add(" | ".join(alternatives))

    def _json(self, schemas: list[dict], path: str) -> str:
        rest = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        for key in ("$defs", "definitions"):
            if key in self.root:
                rest = {**rest, key: self.root[key]}
        check_compiles(rest, path)  # compiled alone, an impossible value is an error
        name, body = shared_leaf(rest)  # one rule for each distinct value schema
        self.rules.append((name, body))
        return name

    def _raw(self, schema: dict, path: str, kinds: frozenset[str]) -> str:
        """A lazy lexeme: raw text valid against a string schema, then `\\n</parameter>`."""
        # A close that opens with a special token (Kimi K3's `<|close|>`) cannot be part of a
        # text lexeme, nor can text run into it: the value is a greedy lexeme, then the close.
        token_close = opens_special(self.tags.close, self.special_tokens)
        close = "" if token_close else self.tags.close
        terminal = raw_string_terminal(schema, path, close, self.tags.markers, kinds)
        name = self._add(terminal, terminal=True)
        if token_close:
            return self._add(f"{name} {self._text(self.tags.close)}")
        return self._add(name, lazy=True)


def raw_string_terminal(
    schema: dict,
    path: str,
    close: str,
    markers_: tuple[str, ...],
    kinds: frozenset[str] = frozenset(),
) -> str:
    """A terminal for raw text valid against a string schema, then `close` (none: the text
    alone), that never holds one of `markers_` (nor, where `kinds` are admitted besides
    strings, reads as one of them). XML parameter values and Gemma's delimited strings."""
    if "format" in schema:
        raise SchemaError("format", path, "a string written raw cannot be held to a format")
    end = regex_escape(close)
    literal_value = _literal_pattern(schema.get("pattern")) if "pattern" in schema else None
    if literal_value is not None and not _writable(literal_value, kinds, markers_):
        raise SchemaError(
            "pattern", path, f"{literal_value!r} cannot be written as a raw parameter value"
        )
    if "enum" in schema:
        # a value holding a parameter marker (or reading as another type) cannot be written
        # raw; an enum of only such values cannot be enforced at all
        values = [v for v in schema["enum"] if _writable(v, kinds, markers_)]
        if not values:
            keyword = "const" if len(schema["enum"]) == 1 else "enum"
            raise SchemaError(keyword, path, "no value can be written as a raw parameter")
        parts = ["(" + "|".join(regex_escape(v) for v in values) + ")"]
    else:
        parts = []
        if "minLength" in schema or "maxLength" in schema:
            low, high = schema.get("minLength", 0), schema.get("maxLength", "")
            parts.append(f"(?s:.){{{int(low)},{high if high == '' else int(high)}}}")
        if "pattern" in schema:
            parts.append(pattern_regex(schema["pattern"], path))
        parts = parts or ["(?s:.*)"]
    markers = "|".join(regex_escape(m) for m in markers_)
    terms = [f"/{p}{end}/" for p in parts]
    terms.append(f"~/(?s:.*)({markers})(?s:.*){end}/")
    if kinds:  # a string that reads as another admitted type would come back as that type
        terms.append(f"~/{looks_typed(kinds)}{end}/")
    terminal = " & ".join(terms)
    _check_regex(terminal, path)
    return terminal


def _by_closing(tags: XmlTags, others: list[dict]) -> list[tuple[str, list[dict]]]:
    """`others` (split_value's JSON schemas) grouped by the closing that says their kind."""
    groups: dict[str, list[dict]] = {}
    for schema in others:
        if "enum" in schema:
            by: dict[str, list] = {}
            for v in schema["enum"]:
                by.setdefault(tags.typed_close(value_kind(v)), []).append(v)
            for closing, values in by.items():
                groups.setdefault(closing, []).append({**schema, "enum": values})
            continue
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        by_kind: dict[str, list[str]] = {}
        for kind in kinds:
            by_kind.setdefault(tags.typed_close(kind), []).append(kind)
        for closing, group in by_kind.items():
            kind = group[0] if len(group) == 1 else group
            groups.setdefault(closing, []).append({**schema, "type": kind})
    return list(groups.items())


def _writable(value: str, kinds: frozenset[str], markers: tuple[str, ...]) -> bool:
    """Can `value` be written raw: no parameter marker in it, and (where the parameter may
    also hold other types) it does not read as one of them."""
    if any(m in value for m in markers):
        return False
    return not (kinds and re.fullmatch(looks_typed(kinds), value))


def _literal_pattern(pattern: str | None) -> str | None:
    """The one string an anchored pattern of escaped literal characters matches, else None."""
    if not pattern or not (pattern.startswith("^") and pattern.endswith("$")):
        return None
    body, out, i = pattern[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and not body[i + 1].isalnum():
            out.append(body[i + 1])
            i += 2
            continue
        if ch in ".^$*+?{}[]|()\\":
            return None
        out.append(ch)
        i += 1
    return "".join(out)


def _scalars_and_containers(others: list[dict], path: str) -> tuple[list[str], list[dict]]:
    """Regexes for the scalar JSON values of `others`; schemas for its lists and objects."""
    scalars: list[str] = []
    containers: list[dict] = []
    for schema in others:
        if "enum" in schema:
            for value in schema["enum"]:
                if isinstance(value, dict | list):
                    containers.append({"const": value})
                else:
                    scalars.append(regex_escape(json.dumps(value)))
            continue
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        for kind in kinds:
            if kind in ("integer", "number"):
                bounds = sorted(set(schema) & NUMBER_KEYS)
                if bounds:
                    raise SchemaError(
                        bounds[0], path, "a number that may also be a raw string cannot be bounded"
                    )
                scalars.append(INTEGER if kind == "integer" else NUMBER)
            elif kind in ("null", "boolean"):
                scalars.append("null" if kind == "null" else "true|false")
            else:
                containers.append({**schema, "type": kind})
    return scalars, containers


def pattern_regex(pattern: str, path: str) -> str:
    """A JSON Schema `pattern` (found anywhere in the string) as a whole-match regex."""
    body = pattern
    head = body.startswith("^")
    if head:
        body = body[1:]
    tail = body.endswith("$") and not _escaped(body, len(body) - 1)
    if tail:
        body = body[:-1]
    out, depth, in_class, i = [], 0, False, 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            out.append(body[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch in "^$" or (ch == "|" and depth == 0 and (head or tail)):
            raise SchemaError("pattern", path, f"cannot enforce {pattern!r} on a raw string")
        out.append("\\/" if ch == "/" else ch)
        i += 1
    inner = "".join(out)
    return ("" if head else "(?s:.*)") + f"(?:{inner})" + ("" if tail else "(?s:.*)")


def _escaped(text: str, i: int) -> bool:
    backslashes = len(text[:i]) - len(text[:i].rstrip("\\"))
    return backslashes % 2 == 1


def _check_regex(terminal: str, path: str) -> None:
    problem = _regex_problem(terminal)
    if problem:
        raise SchemaError("pattern", path, f"cannot be enforced on a raw string: {problem}")


@functools.lru_cache(maxsize=1024)
def _regex_problem(terminal: str) -> str | None:
    """llguidance's complaint about a raw-string terminal, by its text (most string values
    share one terminal, so it is compiled once, not once per property)."""
    grammar = llguidance.LLMatcher.grammar_from_lark(f"start: x\nx[lazy]: X\nX: {terminal}\n")
    message = llguidance.LLMatcher.validate_grammar(grammar)
    return message.strip().splitlines()[0][:200] if message else None


def _pick(schema: dict, keys: frozenset[str]) -> dict:
    return {k: v for k, v in schema.items() if k in keys}
