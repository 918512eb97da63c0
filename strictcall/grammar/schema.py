"""JSON Schema checking and normalisation before a schema becomes a grammar.

A schema is either enforced exactly or refused with the keyword that cannot be enforced: the
server never quietly drops a constraint (DESIGN idea 5).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema

from strictcall.grammar.keywords import likely_keyword
from strictcall.grammar.llg_checks import compile_problem, numbers, written_by_llguidance
from strictcall.grammar.plain import is_plain

# Keywords llguidance cannot enforce (it says "Unimplemented keys"). Listed here too so that the
# error names the path, not only the keyword.
UNSUPPORTED = frozenset(
    {
        "not",
        "if",
        "then",
        "else",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "propertyNames",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "unevaluatedProperties",
        "unevaluatedItems",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
    }
)

# Subschema-bearing keywords: value is a schema, a list of schemas, or a map of schemas.
_SCHEMA_VALUED = ("additionalProperties", "items", "additionalItems", "not", "if", "then", "else")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")

# Compact JSON with fixed separators: what the families are trained on, and it keeps a model
# (a random one especially) from spending its budget on whitespace.
ITEM_SEPARATOR, KEY_SEPARATOR = ", ", ": "
JSON_STYLE = {
    "whitespace_flexible": False,
    "item_separator": ITEM_SEPARATOR,
    "key_separator": KEY_SEPARATOR,
}


@dataclass
class SchemaError(ValueError):
    """A schema that cannot be enforced. `keyword` names the offending keyword."""

    keyword: str
    path: str
    detail: str

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"keyword '{self.keyword}'{where}: {self.detail}"


@dataclass(frozen=True)
class SchemaLimits:
    max_depth: int = 32
    max_bytes: int = 256 * 1024


_DEFAULT_LIMITS = SchemaLimits()


def _walk(schema: Any, path: str = "#") -> Iterator[tuple[dict, str]]:
    if not isinstance(schema, dict):
        return
    yield schema, path
    for key in _SCHEMA_VALUED:
        if key in schema:
            yield from _walk(schema[key], f"{path}/{key}")
    for key in _SCHEMA_LISTS:
        value = schema.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield from _walk(sub, f"{path}/{key}/{i}")
    if isinstance(schema.get("items"), list):
        for i, sub in enumerate(schema["items"]):
            yield from _walk(sub, f"{path}/items/{i}")
    for key in _SCHEMA_MAPS:
        value = schema.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield from _walk(sub, f"{path}/{key}/{_escape_pointer(name)}")


def _escape_pointer(name: str) -> str:
    return str(name).replace("~", "~0").replace("/", "~1")


def _too_deep(schema: Any, max_depth: int) -> str | None:
    """The JSON pointer of a value nested deeper than `max_depth`, or None.

    Iterative and stopping at the limit, so a hostile nesting cannot exhaust the stack. Paths
    are only spelled out once a schema is known to be too deep.
    """
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            return _deep_path(schema, max_depth)
        stack.extend((v, depth + 1) for v in children if isinstance(v, dict | list))
    return None


def _deep_path(schema: Any, max_depth: int) -> str:
    stack: list[tuple[Any, int, str]] = [(schema, 1, "#")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict):
            children = [(v, f"{path}/{_escape_pointer(k)}") for k, v in value.items()]
        elif isinstance(value, list):
            children = [(v, f"{path}/{i}") for i, v in enumerate(value)]
        else:
            continue
        if depth > max_depth:
            return path
        stack.extend((v, depth + 1, p) for v, p in children)
    raise AssertionError("not too deep")


def check_schema(schema: Any, limits: SchemaLimits | None = None, text: str | None = None) -> None:
    """Raise SchemaError unless `schema` is valid JSON Schema that the grammar can enforce.

    Verdicts are cached by the schema's text (`text`, when the caller has it: `json.dumps` of
    `schema`): clients send the same tools request after request, and each distinct schema is
    checked once. The full checks go by its canonical (key-sorted) text.
    """
    limits = limits or _DEFAULT_LIMITS
    if not isinstance(schema, dict):
        raise SchemaError("type", "#", "a JSON Schema must be an object")
    if text is None:
        try:
            text = json.dumps(schema)
        except RecursionError:  # nested past what Python recurses through: too deep at any limit
            _check_size(schema, None, limits)
            raise
    key = (text, limits.max_depth, limits.max_bytes)
    problem = _VERDICTS.get(key, _UNSEEN)
    if problem is _UNSEEN:
        try:
            _check_size(schema, text, limits)
            problem = None if _plain(text, schema) else _check_cached(_canonical(schema))
        except SchemaError as exc:
            problem = exc.keyword, exc.path, exc.detail
        if len(_VERDICTS) >= _CACHED:
            _VERDICTS.clear()  # a flood of distinct schemas costs their checks, never memory
        _VERDICTS[key] = problem
    if problem is not None:
        raise SchemaError(*problem)


def _canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True)


_CACHED = 4096
_UNSEEN = object()
_VERDICTS: dict[tuple[str, int, int], Any] = {}


def clear_caches() -> None:
    """Forget every verdict (benchmarks time a tool set seen for the first time)."""
    _VERDICTS.clear()
    _TOOLS.clear()
    _check_cached.cache_clear()
    compile_problem.cache_clear()
    written_by_llguidance.cache_clear()


def _check_size(schema: dict, text: str | None, limits: SchemaLimits) -> None:
    """Depth first, iteratively: a hostile nesting must not exhaust the stack; then size.

    A text with no more brackets than the depth limit cannot nest past it (every level opens
    one; brackets inside strings only add to the count), so most schemas skip the walk.
    """
    deep = None
    if text is None or text.count("{") + text.count("[") > limits.max_depth:
        deep = _too_deep(schema, limits.max_depth)
    if deep is not None or text is None:
        deep = deep or "#"
        nesting = {*_SCHEMA_VALUED, *_SCHEMA_LISTS, *_SCHEMA_MAPS, "enum", "const", "default"}
        keyword = next((p for p in reversed(deep.split("/")) if p in nesting), "$")
        raise SchemaError(
            keyword,
            deep,
            f"schema nests deeper than {limits.max_depth} levels (--max-schema-depth)",
        )
    if len(text) > limits.max_bytes:
        raise SchemaError(
            "$", "#", f"schema is larger than {limits.max_bytes} bytes (--max-schema-bytes)"
        )


# A JSON escape of a UTF-16 surrogate: llguidance refuses a lone one, so such text is never
# taken for plain (a pair, an emoji, merely costs the full checks).
_SURROGATE = re.compile(r"\\ud[89a-f]")


def _plain(text: str, schema: Any) -> bool:
    return not _SURROGATE.search(text) and is_plain(schema)


@functools.lru_cache(maxsize=4096)
def _check_cached(text: str) -> tuple[str, str, str] | None:
    """The full checks of a schema that is not plain, by its canonical text."""
    schema = json.loads(text)
    try:
        for sub, path in _walk(schema):
            for key in sub:
                if key in UNSUPPORTED:
                    raise SchemaError(key, path, "this keyword cannot be enforced by the grammar")
                if (meant := likely_keyword(key)) is not None:
                    raise SchemaError(
                        key, path, f"not a JSON Schema keyword; did you mean '{meant}'?"
                    )
        _check_metaschema(schema)
        _checknumbers(schema)
        _check_compiles(text)
    except SchemaError as exc:
        return exc.keyword, exc.path, exc.detail
    return None


@functools.cache
def _meta_validator(cls: Any) -> Any:
    """One metaschema validator per draft (building one costs more than using it)."""
    return cls(cls.META_SCHEMA)


def _checknumbers(schema: dict) -> None:
    """Refuse `const`/`enum` numbers the grammar engine cannot write exactly.

    llguidance 1.9.1 writes such a number from a rounded double: 900.9999999999999 comes out
    as 901 and 2**53 + 1 as 2**53, which the schema then rejects. Each number is written once
    by llguidance itself and compared, so what is accepted here is generated exactly.
    """
    for sub, path in _walk(schema):
        for key in ("const", "enum"):
            if key not in sub:
                continue
            values = [sub[key]] if key == "const" else sub[key]
            for number in numbers(values if isinstance(values, list) else []):
                written = written_by_llguidance(number)
                if written is None or json.loads(written) != number:
                    raise SchemaError(
                        key,
                        path,
                        f"the number {number!r} cannot be generated exactly (the grammar engine "
                        f"would write {written!r}); round it or send it as a string",
                    )


def _check_metaschema(schema: dict) -> None:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(_meta_validator(cls).iter_errors(schema))
    if error is not None:
        keyword = str(error.validator) if error.validator else "$"
        field = next((p for p in reversed(error.path) if isinstance(p, str)), keyword)
        where = "#" + "".join(f"/{_escape_pointer(p)}" for p in error.path)
        raise SchemaError(str(field), where, f"invalid schema: {error.message}") from None


def check_compiles(schema: Any, path: str = "") -> None:
    """Raise SchemaError naming the keyword unless llguidance compiles `schema` on its own.

    Formats that write each argument value separately (pythonic, XML parameters) call this on
    every fragment: an optional property that is impossible is harmless inside a whole object
    (it is simply never written) but fails when compiled alone.
    """
    text = json.dumps(schema, sort_keys=True)
    if _plain(text, schema):
        return
    problem = compile_problem(text)
    if problem is not None:
        raise SchemaError(problem[0], path, problem[1])


def _check_compiles(schema_json: str) -> None:
    problem = compile_problem(schema_json)
    if problem is not None:
        raise SchemaError(problem[0], "", problem[1])


def check_tool_parameters(parameters: Any, limits: SchemaLimits | None = None) -> dict:
    """A tool's `parameters` checked (enforceable, of type object) and normalised.

    Raises SchemaError. One rule for every source of tools: clients, MCP servers, built-ins.
    The result is cached by the schema's text and shared between requests: never mutate it
    (an unchanged object is also what lets a repeated tool set reuse its grammar).
    """
    if parameters is None:
        return _NO_ARGUMENTS
    limits = limits or _DEFAULT_LIMITS
    try:  # exact text (key order shapes the grammar); the limits as plain ints compare fastest
        text = json.dumps(parameters)
    except (RecursionError, TypeError, ValueError):
        return _tool_parameters(parameters, limits)  # refused (or checked) the long way
    key = (text, limits.max_depth, limits.max_bytes)
    verdict = _TOOLS.get(key)
    if verdict is None:
        try:
            verdict = _tool_parameters(parameters, limits, text)
        except SchemaError as exc:
            verdict = exc
        if len(_TOOLS) >= _CACHED:
            _TOOLS.clear()
        _TOOLS[key] = verdict
    if isinstance(verdict, SchemaError):
        raise SchemaError(verdict.keyword, verdict.path, verdict.detail)
    return verdict


_TOOLS: dict[tuple[str, int, int], dict | SchemaError] = {}
_NO_ARGUMENTS = {"type": "object", "properties": {}, "additionalProperties": False}


def _tool_parameters(parameters: Any, limits: SchemaLimits, text: str | None = None) -> dict:
    """`text`: json.dumps(parameters), when already written (it is read back as the copy)."""
    check_schema(parameters, limits, text)
    if parameters.get("type", "object") != "object":
        raise SchemaError("type", "#", "tool parameters must be a JSON Schema of type object")
    return normalize_parameters(parameters, text)


def normalize_parameters(parameters: Any, text: str | None = None) -> dict:
    """The schema a tool's arguments are generated against.

    A missing schema means "no arguments" (OpenAI's convention). Objects that list their
    properties and say nothing about others get `additionalProperties: false`: every output
    stays valid against the original schema, and the model cannot invent keys. Branches of
    `allOf` are left alone, where that narrowing would make the branches contradict.
    `text` is json.dumps(parameters) when the caller has written it already.
    """
    if parameters is None or parameters == {}:
        return {"type": "object", "properties": {}, "additionalProperties": False}
    # a deep copy; JSON values only, ten times faster than copy.deepcopy
    schema = json.loads(json.dumps(parameters) if text is None else text)
    _close_objects(schema, inside_all_of=False)
    return schema


# How each subschema-bearing keyword holds its subschemas (`items` also as a list).
_HOLDS = {
    **dict.fromkeys(_SCHEMA_VALUED, "one"),
    **dict.fromkeys(_SCHEMA_LISTS, "list"),
    **dict.fromkeys(_SCHEMA_MAPS, "map"),
}
_OPEN_ENDED = frozenset({"additionalProperties", "patternProperties", "unevaluatedProperties"})


def _close_objects(schema: Any, inside_all_of: bool) -> None:
    if not isinstance(schema, dict):
        return
    if (
        not inside_all_of
        and isinstance(schema.get("properties"), dict)
        and _OPEN_ENDED.isdisjoint(schema)
    ):
        schema["additionalProperties"] = False
    for key in _HOLDS.keys() & schema.keys():  # only the keywords present
        value, holds = schema[key], _HOLDS[key]
        if isinstance(value, dict):
            subs: Any = value.values() if holds == "map" else (value,) if holds == "one" else ()
        elif isinstance(value, list) and (holds == "list" or key == "items"):
            subs = value
        else:
            continue
        for sub in subs:
            _close_objects(sub, inside_all_of or key == "allOf")


def styled(schema: dict) -> dict:
    """`schema` with the compact JSON style attached for llguidance."""
    return {**schema, "x-guidance": JSON_STYLE}
