"""response_format and vLLM's structured_outputs as the Lark rule the answer must follow."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from llguidance.gbnf_to_lark import GbnfToLarkError, any_to_lark

from strictcall.grammar.lark import (
    free_text_regex,
    json_rule,
    lazy_until_regex,
    literal,
    regex_escape,
)
from strictcall.grammar.schema import SchemaError, check_schema, normalize_parameters, styled


class FormatError(ValueError):
    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


def _schema_rule(schema: Any, param: str) -> str:
    try:
        check_schema(schema)
    except SchemaError as exc:
        raise FormatError(f"{param}: {exc}", param) from None
    return json_rule(styled(normalize_parameters(schema)))


def _refuse_markers(text: str, markers: Sequence[str], param: str) -> None:
    for marker in markers:
        if marker and marker in text:
            raise FormatError(
                f"{param} contains {marker!r}, which starts a tool call in this model's format; "
                "with tools offered, the answer text cannot contain it",
                param,
            )


def from_response_format(fmt: dict[str, Any] | None, exclude: Sequence[str] = ()) -> str | None:
    """Rule body for OpenAI's response_format (None: free text).

    `exclude`: text the answer must never contain (the tool-call trigger, when calls are
    possible): else an answer could spell a call that no tool schema constrained.
    """
    if not fmt or fmt.get("type") == "text":
        return None
    kind = fmt["type"]
    if kind == "json_object":
        return json_rule(styled({"type": "object"}))
    if kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema")
        if schema is None:
            raise FormatError(
                "response_format.json_schema.schema is required", "response_format.json_schema"
            )
        return _schema_rule(schema, "response_format.json_schema.schema")
    if kind == "structural_tag":
        return _structural_tag(fmt.get("structures") or [], fmt.get("triggers") or [], exclude)
    raise FormatError(f"unknown response_format type {kind!r}", "response_format.type")


def _structural_tag(structures: list[dict], triggers: list[str], exclude: Sequence[str]) -> str:
    """Free text in which each trigger opens one of the structures that begin with it."""
    param = "response_format"
    if not structures or not triggers:
        raise FormatError("structural_tag needs structures and triggers", param)
    for i, s in enumerate(structures):
        _refuse_markers(s["begin"] + s["end"], exclude, f"{param}.structures[{i}]")
    by_trigger: dict[str, list[str]] = defaultdict(list)
    for i, s in enumerate(structures):
        trigger = next((t for t in triggers if t and s["begin"].startswith(t)), None)
        if trigger is None:
            raise FormatError(
                f"structures[{i}].begin {s['begin']!r} starts with none of the triggers",
                f"{param}.structures[{i}].begin",
            )
        rest = s["begin"][len(trigger) :]
        parts = [literal(rest)] if rest else []
        parts.append(_schema_rule(s["schema"], f"{param}.structures[{i}].schema"))
        if s["end"]:
            parts.append(literal(s["end"]))
        by_trigger[trigger].append(" ".join(parts))
    lines = []
    for j, (trigger, bodies) in enumerate(by_trigger.items()):
        lines.append(f"tag_{j}: tag_head_{j} ({' | '.join(bodies)})")
        lines.append(f"tag_head_{j}[lazy]: {lazy_until_regex(trigger)}")
    tags = " | ".join(f"tag_{j}" for j in range(len(by_trigger)))
    tail = free_text_regex([*by_trigger, *exclude])
    inner = "\n".join([f"start: ({tags})* TAIL", f"TAIL: {tail}", *lines])
    return f"%lark {{\n{inner}\n}}"


def from_structured_outputs(so: dict[str, Any] | None, exclude: Sequence[str] = ()) -> str | None:
    """Rule body for vLLM's structured_outputs (json, regex, choice or grammar).

    `exclude` as in `from_response_format`; a `grammar` is the client's own and is not
    checked (see docs/reliability.md).
    """
    if not so:
        return None
    given = [k for k in ("json", "regex", "choice", "grammar") if so.get(k) is not None]
    if len(given) != 1:
        raise FormatError(
            "structured_outputs takes exactly one of json, regex, choice, grammar",
            "structured_outputs",
        )
    key = given[0]
    value = so[key]
    param = f"structured_outputs.{key}"
    if key == "json":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise FormatError(f"{param} is not valid JSON: {exc}", param) from None
        return _schema_rule(value, param)
    if key == "regex":
        regex = "/" + value.replace("\\/", "/").replace("/", "\\/") + "/"
        words = [w for w in exclude if w]
        if not words:
            return regex
        # a terminal can be intersected: the regex, minus any text holding a trigger
        banned = "|".join(regex_escape(w) for w in words)
        return f"%lark {{\nstart: ANSWER\nANSWER: {regex} & ~/(?s:.*)({banned})(?s:.*)/\n}}"
    if key == "choice":
        if not value or not all(isinstance(c, str) for c in value):
            raise FormatError(f"{param} must be a non-empty list of strings", param)
        for i, c in enumerate(value):
            _refuse_markers(c, exclude, f"{param}[{i}]")
        return " | ".join(literal(c) for c in value)
    try:
        lark = any_to_lark(value)
    except GbnfToLarkError as exc:
        raise FormatError(f"{param}: {exc}", param) from None
    return "%lark {\n" + lark + "\n}"


__all__ = ["FormatError", "from_response_format", "from_structured_outputs"]
