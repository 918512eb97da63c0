"""BFCL's schema dialect as OpenAI tools, and BFCL's function names as OpenAI names.

BFCL writes schemas in its own dialect (`dict`, `float`, `tuple`, `any`, Java type names). The
leaderboard maps them to JSON Schema before sending them as OpenAI tools; `to_json_schema` does
the same, so a server sees what a client replaying BFCL would send. BFCL names may contain dots
(`math.factorial`), which OpenAI's name rule (`^[a-zA-Z0-9_-]{1,64}$`) refuses; `ToolNames`
maps them to valid names and back, so scoring sees the names the data set was written with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# The leaderboard's own mapping (GORILLA_TO_OPENAPI) plus the Java/JS names of its other
# categories; anything else becomes "string", as it does there.
_TYPES = {
    "integer": "integer",
    "number": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "dict": "object",
    "object": "object",
    "tuple": "array",
    "any": "string",
    "byte": "integer",
    "short": "integer",
    "long": "integer",
    "double": "number",
    "char": "string",
    "ArrayList": "array",
    "Array": "array",
    "HashMap": "object",
    "Hashtable": "object",
    "Queue": "array",
    "Stack": "array",
    "Any": "string",
    "String": "string",
    "Bigint": "integer",
}
_NOT_JSON_SCHEMA = ("optional",)  # BFCL annotations that are not JSON Schema keywords
_SUBSCHEMAS = ("items", "additionalProperties", "anyOf", "oneOf", "allOf")
_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_MAX_NAME = 64


def to_json_schema(schema: Any) -> Any:
    """A BFCL parameter schema in JSON Schema, as the leaderboard converts it."""
    if isinstance(schema, list):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _NOT_JSON_SCHEMA:
            continue
        if key == "type" and isinstance(value, str):
            out[key] = _TYPES.get(value, "string")
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMAS:
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    return out


def to_openai_tool(function: dict, name: str | None = None) -> dict:
    """One BFCL function as an OpenAI `tools` entry (under `name` when given)."""
    fn = {"name": name or function["name"], "description": function.get("description", "")}
    fn["parameters"] = to_json_schema(function.get("parameters") or {"type": "dict"})
    return {"type": "function", "function": fn}


def openai_name(name: str) -> str:
    """`name` under OpenAI's rule: each other character becomes `_` (as the leaderboard does
    with dots for OpenAI's models), cut to 64 characters."""
    return _INVALID_NAME_CHARS.sub("_", name)[:_MAX_NAME] or "_"


@dataclass
class ToolNames:
    """The names one request's tools are sent under, and the way back to BFCL's names.

    Two BFCL names can map to the same OpenAI name (`a.b` and `a_b`); the later one gets a
    numbered suffix, so every sent name is unique and maps back to exactly one function.
    """

    to_bfcl: dict[str, str] = field(default_factory=dict)
    to_sent: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, functions: list[dict]) -> ToolNames:
        names = cls()
        for function in functions:
            original = function["name"]
            sent = base = openai_name(original)
            n = 2
            while sent in names.to_bfcl:
                suffix = f"_{n}"
                sent = base[: _MAX_NAME - len(suffix)] + suffix
                n += 1
            names.to_bfcl[sent] = original
            names.to_sent[original] = sent
        return names

    def original(self, sent: str) -> str | None:
        """The BFCL name behind a name a model called; None for a tool nobody declared."""
        return self.to_bfcl.get(sent)


def to_openai_tools(functions: list[dict]) -> tuple[list[dict], ToolNames]:
    """A BFCL record's functions as OpenAI tools, with the names they were sent under."""
    names = ToolNames.of(functions)
    tools = [to_openai_tool(f, names.to_sent[f["name"]]) for f in functions]
    return tools, names
