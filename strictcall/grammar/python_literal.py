"""JSON Schema -> Lark for Python literals (pythonic tool calls: `f(city="SF", days=3)`).

Strings and numbers are JSON spellings, which are Python literals too, so they come from
llguidance's own `%json` (every string and number keyword enforced there). Structure is
written here: `True`/`False`/`None`, lists, dicts, and keyword arguments, with properties in
the schema's order, required ones present, no unknown ones. A keyword this cannot enforce is
refused by name (SchemaError), never dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import jsonschema

from strictcall.grammar.json_lark import shared_leaf
from strictcall.grammar.lark import json_rule, literal, regex_escape
from strictcall.grammar.rule_memo import NO_TOKENS, kept_value, named_rule, tokens_memo
from strictcall.grammar.schema import UNSUPPORTED, SchemaError, check_compiles

STRING_KEYS = frozenset({"minLength", "maxLength", "pattern", "format"})
NUMBER_KEYS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)
ARRAY_KEYS = frozenset({"items", "minItems", "maxItems"})
OBJECT_KEYS = frozenset({"properties", "required", "additionalProperties"})
# JSON Schema keywords with a meaning these rules cannot give (unknown keywords are
# annotations, as JSON Schema says): those llguidance cannot enforce either, and the ones it
# can that these rules do not write. `$dynamicAnchor` only names a schema for `$dynamicRef`
# (refused), so on its own it is an annotation here.
REFUSED = (UNSUPPORTED - {"$dynamicAnchor"}) | {
    "prefixItems",
    "additionalItems",
    "minProperties",
    "maxProperties",
    "patternProperties",
}
EMPTY = '""'
ALL_TYPES = ("string", "integer", "number", "boolean", "null", "array", "object")

# What a keyword argument's name may be: the parser reads names with these characters.
ARG_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_RULE_NAME = re.compile(r"[A-Za-z0-9_]+")
_EXTRA_ARG = r"/[A-Za-z_][A-Za-z0-9_]*/"
_EXTRA_KEY = r'/"[A-Za-z0-9_ .\-]*"/'


_ASSERTIONS = STRING_KEYS | NUMBER_KEYS | ARRAY_KEYS | OBJECT_KEYS | REFUSED
_ASSERTIONS |= {"type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref"}


def significant(schema: dict) -> set[str]:
    """Keywords that constrain a value (annotations and unknown keywords left out)."""
    return {k for k in schema if k in _ASSERTIONS}


def resolve_ref(ref: str, root: dict, path: str) -> dict:
    """A local `$ref` (`#/$defs/...`, `#/definitions/...`, `#`) against the tool's schema."""
    if ref == "#":
        return root
    parts = ref.split("/")
    if len(parts) != 3 or parts[0] != "#" or parts[1] not in ("$defs", "definitions"):
        raise SchemaError("$ref", path, f"only local references into $defs are supported: {ref}")
    name = parts[2].replace("~1", "/").replace("~0", "~")
    target = (root.get(parts[1]) or {}).get(name)
    if not isinstance(target, dict | bool):
        raise SchemaError("$ref", path, f"{ref} does not resolve")
    return target  # type: ignore[return-value]


def schema_types(schema: dict) -> list[str]:
    """The JSON types a (non-combinator) schema admits, read from `type` or its keywords."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in ALL_TYPES if t in declared]
    keys = set(schema)
    inferred = [
        t
        for t, kws in (
            ("string", STRING_KEYS),
            ("number", NUMBER_KEYS),
            ("array", ARRAY_KEYS),
            ("object", OBJECT_KEYS),
        )
        if keys & kws
    ]
    return inferred or list(ALL_TYPES)


def value_kind(value: Any) -> str:
    """The JSON type of a value (an integral float is an integer, as JSON Schema has it)."""
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    kinds: dict[type, str] = {list: "array", dict: "object"}
    return kinds.get(type(value), "string")


def schema_kinds(schema: Any, root: dict, seen: tuple[str, ...] = ()) -> frozenset[str]:
    """Every JSON type a schema may admit (an integer counts as a number too)."""
    if not isinstance(schema, dict) or schema == {}:
        return frozenset(ALL_TYPES)
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            return frozenset(ALL_TYPES)
        return schema_kinds(resolve_ref(ref, root, ref), root, (*seen, ref))
    if "const" in schema or "enum" in schema:
        values = [schema["const"]] if "const" in schema else list(schema["enum"])
        kinds = {value_kind(v) for v in values}
    elif "anyOf" in schema or "oneOf" in schema:
        branches = schema.get("anyOf", schema.get("oneOf")) or []
        kinds = set().union(*(schema_kinds(b, root, seen) for b in branches))
    elif "allOf" in schema and len(schema["allOf"]) == 1:
        kinds = set(schema_kinds(schema["allOf"][0], root, seen))
    else:
        kinds = set(schema_types(schema))
    if "integer" in kinds:
        kinds.add("number")
    if "number" in kinds:
        kinds.add("integer")
    return frozenset(kinds)


def one_of(schema: dict, root: dict, path: str, what: str) -> list:
    """The branches of a `oneOf` whose branches admit different types (so any value valid
    against one is valid against no other, and `oneOf` means `anyOf`); else SchemaError."""
    taken: set[str] = set()
    for branch in schema["oneOf"]:
        kinds = schema_kinds(branch, root)
        if kinds & taken:
            raise SchemaError("oneOf", path, f"{what} enforce oneOf only over different types")
        taken |= kinds
    return list(schema["oneOf"])


def choices(values: Iterable[Any], schema: dict, root: dict) -> list[Any]:
    """Values of an enum/const that also satisfy the schema's other keywords."""
    rest = {k: v for k, v in schema.items() if k not in ("enum", "const")}
    values = list(values)
    if not significant(rest):
        return values
    for key in ("$defs", "definitions"):
        if key in root:
            rest[key] = root[key]
    validator = jsonschema.Draft202012Validator(rest)
    return [v for v in values if validator.is_valid(v)]


class LiteralStyle:
    """How a family spells literal values; Python's here (`True`, `None`, `[1, 2]`,
    `{"k": 1}`, strings and numbers as JSON). Other literal syntaxes (Gemma 4's) subclass it:
    the rules below build lists, objects and arguments from these spellings."""

    true, false, null = "True", "False", "None"
    separator = ", "  # between items
    colon = ": "  # between an object's key and its value
    extra_key = _EXTRA_KEY  # a key the schema leaves open, as written

    def render(self, value: Any) -> str:
        """A JSON value as written."""
        return python_literal(value)

    def constant(self, value: Any) -> str:
        """Lark for one enum/const value."""
        return literal(self.render(value))

    def key(self, key: str, path: str) -> str:
        """Lark for a known key and the colon after it."""
        return literal(python_literal(key) + self.colon)

    def key_text(self, key: str) -> str:
        """A known key as an extra key would spell it (kept out of `extra_key`)."""
        return json.dumps(key, ensure_ascii=False)

    def string(self, rules: PythonLiteralRules, schema: dict, path: str) -> str:
        """A rule name for the strings valid against `schema` (string keywords only)."""
        check_compiles(schema, path)  # compiled alone, an impossible value is an error
        return rules.leaf(schema)


PYTHON_STYLE = LiteralStyle()


class PythonLiteralRules:
    """Collects the rules for one tool's arguments. A rule is named by its text (so equal
    values of any arguments and tools are one rule, compiled once), except those a reference
    may reach before they are written (`$ref`, any value): their names start with `prefix`."""

    def __init__(self, prefix: str, root: dict, style: LiteralStyle = PYTHON_STYLE):
        self.prefix = prefix
        self.root = root
        self.style = style
        self.rules: list[tuple[str, str]] = []
        self.refs: dict[str, str] = {}
        self.count = 0
        self.any_rule: str | None = None

    def new_name(self) -> str:
        """A fresh rule name, for a rule referred to before it is written."""
        self.count += 1
        return f"{self.prefix}_{self.count}"

    def add(self, body: str, terminal: bool = False, lazy: bool = False) -> str:
        """Add a rule (a terminal, a lazy rule) named by its text; its name."""
        head, name = named_rule("pv", body, terminal, lazy)
        self.rules.append((head, body))
        return name

    # ---- keyword arguments ---------------------------------------------------------------
    def keyword_arguments(self, rule: str) -> list[tuple[str, str]]:
        """Rules for `k=v, ...` (the inside of the call's parentheses); `rule` first."""
        schema = self._arguments()
        items = []
        for key, sub in (schema.get("properties") or {}).items():
            if not ARG_NAME.fullmatch(key):
                raise SchemaError("properties", "#", f"{key!r} cannot be a keyword argument's name")
            value = self.value(sub, f"#/properties/{key}")
            items.append((f"{literal(key + '=')} {value}", key in schema.get("required", ())))
        names = list(schema.get("properties") or {})
        body = self._sequence(items, self._extra(schema, "#", _EXTRA_ARG, '"="', names))
        head = (rule, body or '""')
        return [head, *self.rules]

    def object_arguments(self, rule: str) -> list[tuple[str, str]]:
        """Rules for the arguments written as one object literal (Gemma 4's `{k:v,...}`)."""
        return [(rule, self._object(self._arguments(), "#")), *self.rules]

    def _arguments(self) -> dict:
        """The arguments' schema, refused where it says more than an object's keys."""
        extra = significant(self.root) - OBJECT_KEYS - {"type"}
        if extra:
            keyword = sorted(extra)[0]
            raise SchemaError(keyword, "#", "literal calls cannot enforce it on the arguments")
        return self.root

    # ---- values -------------------------------------------------------------------------
    def value(self, schema: Any, path: str) -> str:
        """A rule name for the Python literals valid against `schema`. Its rules are kept by
        the schema, where they depend on nothing else (no reference, no definitions, none of
        this tool's own rules): most arguments of a tool set are alike, written once."""
        memo = tokens_memo(NO_TOKENS)
        return kept_value(
            memo,
            ("literal value", self.style),
            schema,
            self.root,
            self.rules,
            lambda: self._value(schema, path),
            own=self.prefix + "_",
        )

    def _value(self, schema: Any, path: str) -> str:
        if schema is True or schema == {}:
            return self._any()
        if not isinstance(schema, dict):
            raise SchemaError("$", path, "a schema that admits nothing cannot be called with")
        keys = significant(schema)
        refused = sorted(keys & REFUSED)
        if refused:
            raise SchemaError(refused[0], path, "pythonic calls cannot enforce it")
        if "$ref" in schema:
            if keys - {"$ref"}:
                raise SchemaError("$ref", path, "keywords next to $ref cannot be combined")
            return self._ref(schema["$ref"], path)
        if "allOf" in schema:
            branches = schema["allOf"]
            if len(branches) != 1 or keys - {"allOf"}:
                raise SchemaError("allOf", path, "pythonic calls cannot combine schemas")
            return self.value(branches[0], f"{path}/allOf/0")
        for combinator in ("anyOf", "oneOf"):
            if combinator not in schema:
                continue
            if keys - {combinator}:
                raise SchemaError(
                    combinator, path, f"keywords next to {combinator} cannot be combined"
                )
            branches = (
                schema["anyOf"]
                if combinator == "anyOf"
                else one_of(schema, self.root, path, "pythonic calls")
            )
            alts = [self.value(s, f"{path}/{combinator}/{i}") for i, s in enumerate(branches)]
            return self._either(alts)
        if "enum" in schema or "const" in schema:
            values = [schema["const"]] if "const" in schema else list(schema["enum"])
            values = choices(values, schema, self.root)
            if not values:
                raise SchemaError("enum", path, "no value of the enum satisfies the schema")
            return self.add(" | ".join(self.style.constant(v) for v in values))
        return self._either([self._typed(t, schema, path) for t in schema_types(schema)])

    def _either(self, alternatives: list[str]) -> str:
        """A rule name for any of `alternatives` (one that already is a rule: itself)."""
        if len(alternatives) == 1 and _RULE_NAME.fullmatch(alternatives[0]):
            return alternatives[0]
        return self.add(" | ".join(alternatives))

    def leaf(self, schema: dict) -> str:
        """The rule of a `%json` leaf, one for each distinct value schema of the grammar."""
        name, body = shared_leaf(schema)
        self.rules.append((name, body))
        return name

    def _typed(self, kind: str, schema: dict, path: str) -> str:
        if kind == "string":
            return self.style.string(self, {"type": kind, **_pick(schema, STRING_KEYS)}, path)
        if kind in ("integer", "number"):
            value = {"type": kind, **_pick(schema, NUMBER_KEYS)}
            check_compiles(value, path)  # compiled alone, an impossible value is an error
            return self.leaf(value)
        if kind == "boolean":
            return f"{literal(self.style.true)} | {literal(self.style.false)}"
        if kind == "null":
            return literal(self.style.null)
        if kind == "array":
            return self._array(schema, path)
        if kind == "object":
            return self._object(schema, path)
        raise SchemaError("type", path, f"unknown type {kind!r}")

    def _array(self, schema: dict, path: str) -> str:
        items = schema.get("items", True)
        if isinstance(items, list):
            raise SchemaError("items", path, "tuple-style items cannot be enforced")
        low = int(schema.get("minItems", 0))
        high = None if schema.get("maxItems") is None else int(schema["maxItems"])
        if high is not None and high < low:
            raise SchemaError("maxItems", path, "no array satisfies minItems and maxItems")
        if high == 0:
            return literal("[]")
        item = self.value(items, f"{path}/items")
        first = max(low, 1) - 1  # items after the first one, at least
        sep = literal(self.style.separator)
        if high is None:
            more = f" ({sep} {item})" + ("*" if first == 0 else f"{{{first},}}")
        elif high == 1:
            more = ""
        else:
            more = f" ({sep} {item}){{{first},{high - 1}}}"
        filled = f'"[" {item}{more} "]"'
        return filled if low > 0 else f'"[]" | {filled}'

    def _object(self, schema: dict, path: str) -> str:
        required = set(schema.get("required", ()))
        properties = schema.get("properties") or {}
        if required - set(properties):
            raise SchemaError("required", path, "required keys must be listed in properties")
        items = []
        for key, sub in properties.items():
            value = self.value(sub, f"{path}/properties/{key}")
            items.append((f"{self.style.key(key, path)} {value}", key in required))
        keys = [self.style.key_text(k) for k in properties]
        colon = literal(self.style.colon)
        inside = self._sequence(items, self._extra(schema, path, self.style.extra_key, colon, keys))
        return f'"{{" {inside} "}}"' if inside else '"{" "}"'

    def _extra(self, schema: dict, path: str, name_regex: str, sep: str, taken: list[str]):
        """An extra key and its value, where the schema leaves the object open."""
        additional = schema.get("additionalProperties", True)
        if additional is False:
            return None
        name = name_regex
        if taken:
            alternatives = "|".join(regex_escape(k) for k in taken)
            name = f"{name_regex} & ~/({alternatives})/"
        key = self.add(name, terminal=True)
        return f"{key} {sep} {self.value(additional, f'{path}/additionalProperties')}"

    def _sequence(self, items: list[tuple[str, bool]], extra: str | None) -> str:
        """Items in order, optional ones skippable, ", " between those present, then extras.

        Two rules per item: what may follow once something was written (a separator first)
        and what may follow when nothing was; linear in the number of items.
        """
        sep = literal(self.style.separator)
        after = f"({sep} {extra})*" if extra else ""
        fresh = f"({extra} ({sep} {extra})*)?" if extra else ""
        for i in range(len(items) - 1, -1, -1):
            item, required = items[i]
            then = after
            if required:
                fresh = self.add(f"{item} {then}".strip())
            else:
                fresh = self.add(f"{item} {then} | {fresh or EMPTY}".strip())
            if i:  # the first item is never preceded by another
                sep_item = f"{sep} {item}" if required else f"({sep} {item})?"
                after = self.add(f"{sep_item} {then}".strip())
        return fresh

    def _ref(self, ref: str, path: str) -> str:
        if ref not in self.refs:
            self.refs[ref] = name = self.new_name()
            target = resolve_ref(ref, self.root, path)
            self.rules.append((name, self.value(target, ref)))
        return self.refs[ref]

    def _any(self) -> str:
        if self.any_rule is None:
            self.any_rule = name = self.new_name()
            style = self.style
            text = style.string(self, {"type": "string"}, "#")
            number = self.add(json_rule({"type": "number"}))
            sep, colon = literal(style.separator), literal(style.colon)
            items = f'"[" ({name} ({sep} {name})*)? "]"'
            pair = f"{text} {colon} {name}"
            mapping = f'"{{" ({pair} ({sep} {pair})*)? "}}"'
            scalars = " | ".join(literal(s) for s in (style.true, style.false, style.null))
            body = f"{text} | {number} | {scalars} | {items} | {mapping}"
            self.rules.append((name, body))
        return self.any_rule


def python_literal(value: Any) -> str:
    """`value` (a JSON value) as the Python literal the grammar writes for it."""
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, str | int | float):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{python_literal(str(k))}: {python_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _pick(schema: dict, keys: frozenset[str]) -> dict:
    return {k: v for k, v in schema.items() if k in keys}
