"""Generated tool schemas are either enforced or refused by keyword, never half-enforced.

Enforced: a generation under the schema returns a call valid against it. Refused: a 400
naming the tool and the keyword. Checked in the library (many examples, every format) and
end to end against the tiny model (fewer examples).
"""

from __future__ import annotations

import json
import re

import jsonschema
import llguidance
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from strictcall.formats import ConstraintSpec, ToolSpec, format_names, get_format
from strictcall.grammar.schema import SchemaError, check_schema, normalize_parameters
from tests.reliability.hostile import random_walk, tokenizer
from tests.reliability.schemas import tool_schemas

_KEYWORD = re.compile(r"keyword '([^']+)'")


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(schema=tool_schemas, name=st.sampled_from(format_names()), seed=st.integers(0, 99))
def test_a_schema_is_enforced_or_refused_by_keyword(schema, name, seed):
    try:
        check_schema(schema)
    except SchemaError as exc:
        assert exc.keyword and _KEYWORD.search(str(exc)), exc
        event(f"refused: {exc.keyword}")
        return
    fmt = get_format(name)
    _hf, lltok, special = tokenizer(False)
    spec = ConstraintSpec(
        tools=(ToolSpec("t", normalize_parameters(schema)),),
        mode="named",
        named="t",
        special_tokens=special,
    )
    try:
        grammar = fmt.grammar(spec)
    except SchemaError as exc:  # what a format cannot write (a keyword argument named "a b")
        assert exc.keyword and _KEYWORD.search(str(exc)), exc
        event(f"refused by {name}: {exc.keyword}")
        return
    assert grammar is not None
    matcher = llguidance.LLMatcher(
        lltok, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0
    )
    assert not matcher.is_error(), (
        f"accepted by check_schema, refused by the grammar: {matcher.get_error()}"
    )
    text, done = random_walk(grammar, seed, markers_as_tokens=False)
    if not done:
        event("enforced: walk cut off")
        return
    event("enforced: call checked")
    result = fmt.parse(text, spec.tools)  # with the schema: XML-parameter values are typed by it
    assert [c.name for c in result.tool_calls] == ["t"], text
    jsonschema.validate(json.loads(result.tool_calls[0].arguments), schema)


@pytest.fixture(scope="module")
def closing_bias(server):
    """logit_bias towards quotes and brackets: a random model then ends its strings."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(server.model)
    bias = {}
    for text in ['"', "}", "]", '"}', "}}", ",", '",']:
        ids = tok.encode(text, add_special_tokens=False)
        if len(ids) == 1:
            bias[str(ids[0])] = 6.0
    return bias


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(schema=tool_schemas, stream=st.booleans())
def test_served_schema_is_enforced_or_refused_by_keyword(
    server, client, closing_bias, schema, stream
):
    import openai

    tools = [{"type": "function", "function": {"name": "probe", "parameters": schema}}]
    request = dict(
        model=server.model,
        messages=[{"role": "user", "content": "go"}],
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "probe"}},
        max_tokens=120,
        seed=1,
        logit_bias=closing_bias,
    )
    try:
        if not stream:
            choice = client.chat.completions.create(**request).choices[0]
            finish, calls = choice.finish_reason, choice.message.tool_calls or []
            args = [c.function.arguments for c in calls]
        else:
            finish, args = None, {}
            for chunk in client.chat.completions.create(stream=True, **request):
                for tc in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
                    args[tc.index] = args.get(tc.index, "") + (tc.function.arguments or "")
                if chunk.choices and chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
            args = list(args.values())
    except openai.APIStatusError as exc:
        assert exc.status_code == 400, exc.response.text
        err = exc.response.json()["error"]
        assert err["param"] == "tools[0].function.parameters", err
        assert "'probe'" in err["message"] and _KEYWORD.search(err["message"]), err
        event(f"refused: {_KEYWORD.search(err['message']).group(1)}")
        return
    assert finish in ("tool_calls", "length"), finish
    event(f"enforced: {finish}")
    if finish == "tool_calls":
        assert len(args) == 1
        jsonschema.validate(json.loads(args[0]), schema)
