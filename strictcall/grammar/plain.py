"""Recognise the plain schemas that need neither a metaschema check nor a compile check.

Almost every real tool schema is built from a handful of keywords (BFCL's 100 tools use eight:
type, description, properties, required, items, enum, default, format). For a schema made only
of those, with values of the right shape, the two expensive checks cannot fail: it is valid
JSON Schema (draft 2020-12, the default) and llguidance compiles it, alone and as a whole. Such
a schema is accepted after one cheap walk, about a hundredth of what jsonschema's metaschema
validation and an llguidance compile cost together.

The test is conservative: anything outside the shapes below (another keyword, a bound, a
pattern, a float, a `$schema`, a keyword that does not apply to the declared type) is simply
"not plain" and goes through the full checks, which name the keyword at fault. So the fast path
can only ever skip work, never change a verdict (tests/grammar/test_plain.py checks that against
the full checks on generated schemas).
"""

from __future__ import annotations

from typing import Any

_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
_ANNOTATIONS = frozenset({"description", "title", "$comment"})
# String formats llguidance 1.9.1 implements (it refuses others by name: "Unknown format").
FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid", "uri"}
)
_KEYS = frozenset(
    {
        "type",
        *_ANNOTATIONS,
        "default",
        "examples",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "format",
    }
)
_EXACT = 2**53  # integers llguidance writes exactly (it goes through a double)


def is_plain(schema: Any) -> bool:
    """`schema` is certainly valid JSON Schema that llguidance compiles (see the module doc).

    The caller has bounded its depth and made sure its text is valid UTF-8 (no lone
    surrogates), which this walk does not look at.
    """
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or not _KEYS.issuperset(node):
            return False
        types = _types(node.get("type"))
        if types is None:
            return False
        for key in _ANNOTATIONS:
            if key in node and not isinstance(node[key], str):
                return False
        if "examples" in node and not isinstance(node["examples"], list):
            return False
        if not _object_part(node, types, stack) or not _array_part(node, types, stack):
            return False
        if "enum" in node and not _plain_enum(node["enum"], types):
            return False
        if "format" in node and not (
            types == {"string"} and isinstance(node["format"], str) and node["format"] in FORMATS
        ):
            return False
    return True


def _types(value: Any) -> set[str] | None:
    """The declared types (empty: no `type`), or None when `type` is not a plain one."""
    if value is None:
        return set()
    if isinstance(value, str):
        return {value} if value in _TYPES else None
    if (
        isinstance(value, list)
        and value
        and all(isinstance(t, str) and t in _TYPES for t in value)
        and len(set(value)) == len(value)
    ):
        return set(value)
    return None


def _object_part(node: dict, types: set[str], stack: list) -> bool:
    has = [k for k in ("properties", "required", "additionalProperties") if k in node]
    if not has:
        return True
    if "object" not in types:
        return False
    properties = node.get("properties", {})
    if not isinstance(properties, dict):
        return False
    required = node.get("required", [])
    if (
        not isinstance(required, list)
        or not all(isinstance(r, str) and r in properties for r in required)
        or len(set(required)) != len(required)
    ):
        return False
    extra = node.get("additionalProperties", True)
    if not isinstance(extra, bool):
        stack.append(extra)
    stack.extend(properties.values())
    return True


def _array_part(node: dict, types: set[str], stack: list) -> bool:
    if "items" not in node:
        return True
    if "array" not in types:
        return False
    stack.append(node["items"])
    return True


def _plain_enum(values: Any, types: set[str]) -> bool:
    if not isinstance(values, list) or not values:
        return False
    for value in values:
        if isinstance(value, bool):
            kind = "boolean"
        elif isinstance(value, int):
            if abs(value) > _EXACT:
                return False
            kind = "integer"
        elif isinstance(value, str):
            kind = "string"
        elif value is None:
            kind = "null"
        else:  # floats, objects, arrays: the full checks look at those
            return False
        if types and kind not in types and not (kind == "integer" and "number" in types):
            return False
    return True
