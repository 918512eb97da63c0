"""Hypothesis strategies for tool schemas: the keywords real tool sets use, keywords the
grammar cannot enforce, invalid schemas, and hostile text in names and values."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.reliability.hostile import OTHER_MARKERS, SYNTAX

UNENFORCEABLE = [
    ("not", {"type": "null"}),
    ("uniqueItems", True),
    ("contains", {"type": "integer"}),
    ("propertyNames", {"maxLength": 3}),
    ("dependentRequired", {"a": ["b"]}),
    ("if", {"required": ["a"]}),
    ("unevaluatedProperties", False),
]
INVALID = [
    {"type": "dict"},
    {"required": "a"},
    {"minLength": -1},
    {"pattern": "("},
    {"enum": []},
    {"type": "string", "format": "no-such-format"},
    {"$ref": "#/$defs/missing"},
]

texts = st.one_of(
    st.sampled_from(SYNTAX + OTHER_MARKERS + ["<tool_call>", "</tool_call>"]),
    st.text(max_size=8),
)
names = st.one_of(st.sampled_from(["a", "b", "name", "arguments"]), texts)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-1000, 1000), texts, st.floats(-1e3, 1e3, allow_nan=False)
)


def _string() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "maxLength": st.integers(0, 6),
            "minLength": st.integers(0, 2),
            "pattern": st.sampled_from(["^[a-z]{1,4}$", "^</?x>$", '^"\\\\$', "^a|b$", "^\\d+$"]),
            "format": st.sampled_from(["date", "email", "uuid", "date-time"]),
            "description": texts,
        },
    ).map(_bounded_string)


def _bounded_string(schema: dict) -> dict:
    # a random model writes strings until the grammar stops it: keep them short
    if "pattern" not in schema and "format" not in schema:
        schema.setdefault("maxLength", 6)
        schema["minLength"] = min(schema.get("minLength", 0), schema["maxLength"])
    return schema


def _number() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"type": st.sampled_from(["integer", "number"])},
        optional={
            "minimum": st.integers(-50, 0),
            "maximum": st.integers(1, 50),
            "exclusiveMinimum": st.integers(-60, -51),
        },
    ).map(lambda s: {**s, "maximum": s.get("maximum", 99), "minimum": s.get("minimum", -99)})


leaves = st.one_of(
    _string(),
    _number(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(scalars, min_size=1, max_size=4, unique_by=repr).map(lambda v: {"enum": v}),
    scalars.map(lambda v: {"const": v}),
)


def _extend(children: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    obj = st.dictionaries(names, children, max_size=3).flatmap(
        lambda props: st.fixed_dictionaries(
            {
                "type": st.just("object"),
                "properties": st.just(props),
                "required": st.lists(st.sampled_from(sorted(props)), unique=True)
                if props
                else st.just([]),
            }
        )
    )
    return st.one_of(
        obj,
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": children, "maxItems": st.integers(0, 3)},
            optional={"minItems": st.integers(0, 1)},
        ),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"anyOf": xs}),
        st.lists(children, min_size=1, max_size=2).map(lambda xs: {"allOf": xs}),
        st.just({"$ref": "#/$defs/shared"}),
    )


subschemas = st.recursive(leaves, _extend, max_leaves=8)


def _spoil(schema: dict, extra: tuple[str, object] | dict | None) -> dict:
    if extra is None:
        return schema
    if isinstance(extra, tuple):
        return {**schema, extra[0]: extra[1]}
    return {**schema, "properties": {**schema["properties"], "bad": extra}}


tool_schemas = st.builds(
    lambda props, required_all, extra, shared: _spoil(
        {
            "type": "object",
            "$defs": {"shared": shared},
            "properties": props,
            **({"required": sorted(props)} if required_all else {}),
        },
        extra,
    ),
    st.dictionaries(names, subschemas, max_size=4),
    st.booleans(),
    st.one_of(
        st.none(),
        st.none(),
        st.none(),
        st.sampled_from(UNENFORCEABLE),
        st.sampled_from(INVALID),
    ),
    leaves,
)
