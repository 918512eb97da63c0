"""Responses items as chat messages, and how built-in tools are presented (no server needed)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from strictcall.api.errors import APIError
from strictcall.api.responses.items import input_messages
from strictcall.api.responses.prepare import Turn
from strictcall.api.responses.run import ResponseRun
from strictcall.api.responses.schemas import ResponsesRequest
from strictcall.formats import get_format
from strictcall.tools.browser import BROWSER_TOOLS
from strictcall.tools.python import PYTHON_TOOL


def test_a_string_is_one_user_message():
    assert input_messages("hi") == [{"role": "user", "content": "hi"}]


def test_items_become_the_messages_a_template_renders():
    messages = input_messages(
        [
            {"role": "developer", "content": "be brief"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]},
            {
                "type": "reasoning",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": "t"}],
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "a"}],
            },
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"x": 1}'},
            {"type": "function_call", "call_id": "c2", "name": "g", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "one"},
            {"type": "function_call_output", "call_id": "c2", "output": "two"},
            {
                "type": "code_interpreter_call",
                "id": "ci1",
                "code": "1+1",
                "outputs": [{"type": "logs", "logs": "2"}],
            },
        ]
    )
    assert messages[0] == {"role": "system", "content": "be brief"}
    assistant = messages[2]
    assert assistant["content"] == "a" and assistant["reasoning_content"] == "t"
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["f", "g"]
    assert [m["role"] for m in messages[3:5]] == ["tool", "tool"]
    assert messages[5]["tool_calls"][0]["function"] == {
        "name": "python",
        "arguments": '{"code": "1+1"}',
    }
    assert messages[6] == {"role": "tool", "tool_call_id": "ci1", "name": "python", "content": "2"}


@pytest.mark.parametrize(
    ("items", "param"),
    [
        ([{"type": "image_generation_call"}], "input[0].type"),
        ([{"role": "tool", "content": "x"}], "input[0].role"),
        ([{"type": "function_call", "name": "f"}], "input[0].call_id"),
        (["text"], "input[0]"),
        ([{"type": "item_reference", "id": "x"}], "input[0].type"),
    ],
)
def test_bad_items_are_refused_by_position(items, param):
    with pytest.raises(APIError) as info:
        input_messages(items)
    assert info.value.param == param


def _plan_input(fmt):
    req = ResponsesRequest(model="m", input="x")
    turn = Turn(req, "resp_1", 0, [], [{"role": "user", "content": "x"}])
    for tool in (PYTHON_TOOL, *BROWSER_TOOLS):
        turn.server_tools[tool.name] = tool
        turn.specs[tool.name] = tool.spec()
    turn.mode = "auto"
    state = SimpleNamespace(
        fmt=fmt, config=SimpleNamespace(exclude_tools_when_tool_choice_none=False)
    )
    return ResponseRun(turn, state)._plan_input(first=True)  # type: ignore[arg-type]


def test_built_in_tools_are_functions_unless_the_format_presents_them():
    plain = _plan_input(SimpleNamespace(name="hermes"))
    assert [t["function"]["name"] for t in plain.render_tools] == [
        "python",
        "browser.search",
        "browser.open",
        "browser.find",
    ]
    assert "builtin_tools" not in plain.template_kwargs
    harmony = _plan_input(SimpleNamespace(native_builtin_tools=frozenset({"browser", "python"})))
    assert harmony.render_tools == []
    assert harmony.template_kwargs["builtin_tools"] == ["browser", "python"]
    # the grammar constrains the calls either way; only a native format calls them its way
    assert {t.name for t in harmony.tools} == {
        "python",
        "browser.search",
        "browser.open",
        "browser.find",
    }
    assert all(t.native for t in harmony.tools) and not any(t.native for t in plain.tools)


def test_the_real_harmony_format_presents_both_builtins_natively():
    inp = _plan_input(get_format("harmony"))
    assert inp.template_kwargs["builtin_tools"] == ["browser", "python"]
    assert inp.render_tools == [] and all(t.native for t in inp.tools)
