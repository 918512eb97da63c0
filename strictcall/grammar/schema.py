"""JSON Schema checking and normalisation before a schema becomes a grammar.

A schema is either enforced exactly or refused with the keyword that cannot be enforced: the
server never quietly drops a constraint (DESIGN idea 5).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import llguidance

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
JSON_STYLE = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


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


def _depth(schema: Any) -> int:
    if isinstance(schema, dict):
        return 1 + max((_depth(v) for v in schema.values()), default=0)
    if isinstance(schema, list):
        return 1 + max((_depth(v) for v in schema), default=0)
    return 0


def check_schema(schema: Any, limits: SchemaLimits | None = None) -> None:
    """Raise SchemaError unless `schema` is valid JSON Schema that the grammar can enforce.

    Results are cached by the schema's text: clients send the same tools request after request.
    """
    limits = limits or SchemaLimits()
    if not isinstance(schema, dict):
        raise SchemaError("type", "#", "a JSON Schema must be an object")
    text = json.dumps(schema, sort_keys=True)
    if len(text) > limits.max_bytes:
        raise SchemaError("$", "#", f"schema is larger than {limits.max_bytes} bytes")
    problem = _check_cached(text, limits.max_depth)
    if problem is not None:
        raise SchemaError(*problem)


@functools.lru_cache(maxsize=4096)
def _check_cached(text: str, max_depth: int) -> tuple[str, str, str] | None:
    schema = json.loads(text)
    try:
        if _depth(schema) > max_depth:
            raise SchemaError("$", "#", f"schema nests deeper than {max_depth} levels")
        for sub, path in _walk(schema):
            for key in sub:
                if key in UNSUPPORTED:
                    raise SchemaError(key, path, "this keyword cannot be enforced by the grammar")
        _check_metaschema(schema)
        _check_compiles(text)
    except SchemaError as exc:
        return exc.keyword, exc.path, exc.detail
    return None


@functools.cache
def _meta_validator(cls: type) -> Any:
    """One metaschema validator per draft (building one costs more than using it)."""
    return cls(cls.META_SCHEMA)


def _check_metaschema(schema: dict) -> None:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(_meta_validator(cls).iter_errors(schema))
    if error is not None:
        keyword = str(error.validator) if error.validator else "$"
        field = next((p for p in reversed(error.path) if isinstance(p, str)), keyword)
        where = "#" + "".join(f"/{_escape_pointer(p)}" for p in error.path)
        raise SchemaError(str(field), where, f"invalid schema: {error.message}") from None


_UNIMPLEMENTED = re.compile(r'Unimplemented keys: \["([^"]+)"')


def _check_compiles(schema_json: str) -> None:
    grammar = llguidance.LLMatcher.grammar_from_json_schema(schema_json)
    message = llguidance.LLMatcher.validate_grammar(grammar)
    if not message:
        return
    if match := _UNIMPLEMENTED.search(message):
        keyword = match.group(1)
    elif message.startswith("Unknown format"):
        keyword = "format"
    elif "regex" in message:
        keyword = "pattern"
    else:
        keyword = "$"
    first_line = message.strip().splitlines()[0][:300]
    raise SchemaError(keyword, "", f"cannot be enforced: {first_line}")


def check_tool_parameters(parameters: Any, limits: SchemaLimits | None = None) -> dict:
    """A tool's `parameters` checked (enforceable, of type object) and normalised.

    Raises SchemaError. One rule for every source of tools: clients, MCP servers, built-ins.
    """
    if parameters is not None:
        check_schema(parameters, limits)
        if parameters.get("type", "object") != "object":
            raise SchemaError("type", "#", "tool parameters must be a JSON Schema of type object")
    return normalize_parameters(parameters)


def normalize_parameters(parameters: Any) -> dict:
    """The schema a tool's arguments are generated against.

    A missing schema means "no arguments" (OpenAI's convention). Objects that list their
    properties and say nothing about others get `additionalProperties: false`: every output
    stays valid against the original schema, and the model cannot invent keys. Branches of
    `allOf` are left alone, where that narrowing would make the branches contradict.
    """
    if parameters is None or parameters == {}:
        return {"type": "object", "properties": {}, "additionalProperties": False}
    schema = copy.deepcopy(parameters)
    _close_objects(schema, inside_all_of=False)
    return schema


def _close_objects(schema: Any, inside_all_of: bool) -> None:
    if not isinstance(schema, dict):
        return
    open_ended = ("additionalProperties", "patternProperties", "unevaluatedProperties")
    if (
        not inside_all_of
        and isinstance(schema.get("properties"), dict)
        and not any(k in schema for k in open_ended)
    ):
        schema["additionalProperties"] = False
    for key in _SCHEMA_VALUED:
        if key in schema:
            _close_objects(schema[key], inside_all_of)
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for sub in schema[key]:
                _close_objects(sub, inside_all_of or key == "allOf")
    if isinstance(schema.get("items"), list):
        for sub in schema["items"]:
            _close_objects(sub, inside_all_of)
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            for sub in schema[key].values():
                _close_objects(sub, inside_all_of)


def styled(schema: dict) -> dict:
    """`schema` with the compact JSON style attached for llguidance."""
    return {**schema, "x-guidance": JSON_STYLE}
