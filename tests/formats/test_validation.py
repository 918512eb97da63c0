"""Calls are checked against their tool's schema as they complete; and under a response format
a call can only open the answer, as the grammar has it."""

from __future__ import annotations

import json

import pytest

from strictcall.formats import get_format
from tests.api.toolsets import TOOLS, WEATHER


@pytest.mark.parametrize("name", ["hermes", "mistral", "llama3_json", "deepseek_v31", "openai"])
def test_a_call_breaking_its_schema_is_content(name):
    fmt = get_format(name)
    good = fmt.render_calls([("get_weather", {"city": "Paris"})])
    bad = fmt.render_calls([("get_weather", {"unit": "kelvin"})])  # no city, unknown unit
    assert [c.name for c in fmt.parse(good, TOOLS, validate=True).tool_calls] == ["get_weather"]
    result = fmt.parse(bad, TOOLS, validate=True)
    assert result.tool_calls == []
    assert "kelvin" in result.content
    # without schemas (tools by name only) nothing is known to check; and a library reading
    # unconstrained output is lenient by default, as vLLM is
    assert len(fmt.parse(bad, ["get_weather"], validate=True).tool_calls) == 1
    assert len(fmt.parse(bad, TOOLS).tool_calls) == 1


@pytest.mark.parametrize("name", ["mistral", "hermes", "deepseek_v31", "granite"])
def test_under_a_response_format_a_call_spelled_in_the_answer_is_text(name):
    fmt = get_format(name)
    spelled = fmt.render_calls([("get-time", {})])
    answer = json.dumps({"note": "see " + spelled})
    for tools in (TOOLS, [WEATHER]):
        free = fmt.parse(answer, tools, calls_at_start=True)
        assert free.tool_calls == [] and free.content == answer
    opening = fmt.parse(spelled, TOOLS, calls_at_start=True)
    assert [c.name for c in opening.tool_calls] == ["get-time"]
