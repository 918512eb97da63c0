"""Our Harmony renderer against the real gpt-oss chat template, conversation by conversation."""

from __future__ import annotations

import datetime
import json
import random

import pytest
from transformers.utils import chat_template_utils
from transformers.utils.chat_template_utils import render_jinja_template

from strictcall.chat.harmony import HarmonyRenderError, render_harmony
from strictcall.chat.render import template_messages
from tests.api.toolsets import TOOLS
from tests.conftest import DATA

TEMPLATE = (DATA / "templates" / "openai-gpt-oss-120b.jinja").read_text()
TODAY = datetime.date(2025, 8, 7)


class _FixedClock(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2025, 8, 7, 12, 0, 0)


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch):
    monkeypatch.setattr(chat_template_utils, "datetime", _FixedClock)


def jinja(messages, tools=None, **kwargs) -> str:
    rendered, _ = render_jinja_template(
        conversations=[template_messages(messages)],
        tools=tools,
        chat_template=TEMPLATE,
        add_generation_prompt=True,
        **kwargs,
    )
    return rendered[0]


def ours(messages, tools=None, **kwargs) -> str:
    return render_harmony(template_messages(messages), tools, today=TODAY, **kwargs)


def call(id_, name, args):
    return {
        "id": id_,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


USER = {"role": "user", "content": "What is the weather in Paris? Réponds en français."}
WEATHER_CALL = call("call_1", "get_weather", {"city": "Paris", "unit": "celsius"})
TOOL_RESULT = {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21, "sky": "clear"}'}
PY_CALL = call("call_py", "python", {"code": "print(2 ** 10)"})
PY_RESULT = {"role": "tool", "tool_call_id": "call_py", "name": "python", "content": "1024\n"}
PY_FUNCTION = {
    "type": "function",
    "function": {
        "name": "python",
        "description": "Run code.",
        "parameters": {"type": "object", "properties": {"code": {"type": "string"}}},
    },
}

CONVERSATIONS = {
    "one user message": ([USER], None, {}),
    "system prompt": ([{"role": "system", "content": "Be brief."}, USER], None, {}),
    "developer prompt and tools": (
        [{"role": "developer", "content": "Use tools."}, USER],
        TOOLS,
        {},
    ),
    "tools, no instructions": ([USER], TOOLS, {}),
    "reasoning effort and identity": (
        [USER],
        TOOLS,
        {"reasoning_effort": "high", "model_identity": "You are a test model."},
    ),
    "built-in tools": ([USER], TOOLS, {"builtin_tools": ["browser", "python"]}),
    "tool round in progress keeps its reasoning": (
        [
            {"role": "system", "content": "Be brief."},
            USER,
            {
                "role": "assistant",
                "reasoning_content": "Need weather.",
                "tool_calls": [WEATHER_CALL],
            },
            TOOL_RESULT,
        ],
        TOOLS,
        {"reasoning_effort": "low"},
    ),
    "content of a call message is its analysis": (
        [USER, {"role": "assistant", "content": "Let me check.", "tool_calls": [WEATHER_CALL]}],
        TOOLS,
        {},
    ),
    "a final answer drops the round's reasoning": (
        [
            USER,
            {"role": "assistant", "reasoning": "Need weather.", "tool_calls": [WEATHER_CALL]},
            TOOL_RESULT,
            {"role": "assistant", "content": "21 °C, clear.", "reasoning_content": "Easy."},
            {"role": "user", "content": "And tomorrow?"},
        ],
        TOOLS,
        {},
    ),
    "two rounds, then a follow-up": (
        [
            USER,
            {"role": "assistant", "content": "", "tool_calls": [WEATHER_CALL]},
            TOOL_RESULT,
            {"role": "assistant", "content": "It is 21 °C."},
            {"role": "user", "content": "Book me a flight CDG to JFK."},
            {
                "role": "assistant",
                "reasoning_content": "Book it.",
                "tool_calls": [
                    call("call_2", "book.flight", {"from": "CDG", "to": "JFK", "passengers": []})
                ],
            },
            {"role": "tool", "tool_call_id": "call_2", "content": "booked"},
        ],
        TOOLS,
        {"reasoning_effort": "medium"},
    ),
    # the template's rule for calls whatever their name, where no built-in tool is enabled...
    "calls named like built-ins, built-ins not enabled": (
        [USER, {"role": "assistant", "tool_calls": [PY_CALL]}, PY_RESULT],
        TOOLS,
        {},
    ),
    # ... or where the name is a declared function's
    "a function named python, built-ins enabled": (
        [USER, {"role": "assistant", "tool_calls": [PY_CALL]}, PY_RESULT],
        [*TOOLS, PY_FUNCTION],
        {"builtin_tools": ["python"]},
    ),
    "content parts": (
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            }
        ],
        None,
        {},
    ),
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_matches_the_gpt_oss_template(name):
    messages, tools, kwargs = CONVERSATIONS[name]
    assert ours(messages, tools, **kwargs) == jinja(messages, tools, **kwargs)


def test_the_prompt_ends_where_the_model_starts():
    text = ours([USER], TOOLS)
    assert text.startswith("<|start|>system<|message|>You are ChatGPT")
    assert "Current date: 2025-08-07\n\nReasoning: medium\n\n" in text
    assert text.endswith("<|end|><|start|>assistant")


# ---- tool declarations: random schemas over the keywords the template handles ---------------
def _schema(rng: random.Random, depth: int = 0) -> dict:
    leaves = [
        {"type": "string"},
        {"type": "string", "enum": ["a", "b c"]},
        {"type": "string", "nullable": True},
        {"type": "integer", "minimum": 0},
        {"type": "number"},
        {"type": "boolean"},
        {"type": ["string", "null"]},
        {"type": ["integer"]},
        {"enum": ["x", "y"]},
        {"$ref": "#/$defs/thing"},
        {},
    ]
    choice = rng.random()
    if depth >= 2 or choice < 0.45:
        schema = dict(rng.choice(leaves))
    elif choice < 0.6:
        schema = {"type": "array", "items": _schema(rng, depth + 1)}
        if rng.random() < 0.3:
            schema["nullable"] = True
        if rng.random() < 0.2:
            del schema["items"]
    elif choice < 0.8:
        props = {f"p{i}": _schema(rng, depth + 1) for i in range(rng.randint(0, 3))}
        schema = {"type": "object", "properties": props}
        if props and rng.random() < 0.6:
            schema["required"] = rng.sample(sorted(props), rng.randint(1, len(props)))
    else:
        variants = [_schema(rng, depth + 1) for _ in range(rng.randint(1, 3))]
        for v in variants:
            if rng.random() < 0.3:
                v["description"] = "variant"
            if rng.random() < 0.3:
                v["default"] = rng.choice([1, "d", None, True])
        schema = {"oneOf": variants}
    if rng.random() < 0.3:
        schema["description"] = rng.choice(["A value.", "Ünïcode – text"])
    return schema


def _tool(rng: random.Random, i: int) -> dict:
    props = {}
    for j in range(rng.randint(0, 4)):
        spec = _schema(rng)
        if rng.random() < 0.25:
            if spec.get("enum"):
                spec["default"] = spec["enum"][0]
            elif spec.get("oneOf"):
                spec["default"] = "x"
            else:
                spec["default"] = rng.choice([3, "s", [1, 2], {"k": None}, False])
        props[f"arg_{j}"] = spec
    params: dict = {"type": "object", "properties": props}
    if props and rng.random() < 0.5:
        params["required"] = [next(iter(props))]
    fn = {"name": f"tool_{i}", "description": f"Tool number {i}.", "parameters": params}
    if rng.random() < 0.1:
        del fn["parameters"]
    return {"type": "function", "function": fn}


@pytest.mark.parametrize("seed", range(60))
def test_random_tool_schemas_render_as_the_template_does(seed):
    rng = random.Random(seed)
    tools = [_tool(rng, i) for i in range(rng.randint(1, 4))]
    assert ours([USER], tools) == jinja([USER], tools)


# ---- where the template raises or loses information -----------------------------------------
def test_every_call_of_a_parallel_turn_is_rendered_and_results_are_matched_by_id():
    second = call("call_2", "get-time", {})
    messages = [
        USER,
        {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL, second]},
        {"role": "tool", "tool_call_id": "call_1", "content": "21"},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
    ]
    text = ours(messages, TOOLS)
    assert (
        "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>"
        '{"city": "Paris", "unit": "celsius"}<|call|>'
        "<|start|>assistant to=functions.get-time<|channel|>commentary json<|message|>{}<|call|>"
        '<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"21"<|end|>'
        '<|start|>functions.get-time to=assistant<|channel|>commentary<|message|>"noon"<|end|>'
        "<|start|>assistant"
    ) in text


def test_reasoning_and_a_preamble_before_a_call_are_both_kept():
    messages = [
        USER,
        {
            "role": "assistant",
            "reasoning_content": "Think.",
            "content": "Checking now.",
            "tool_calls": [WEATHER_CALL],
        },
    ]
    text = ours(messages, TOOLS)
    assert (
        "<|start|>assistant<|channel|>analysis<|message|>Think.<|end|>"
        "<|start|>assistant<|channel|>commentary<|message|>Checking now.<|end|>"
        "<|start|>assistant to=functions.get_weather"
    ) in text


def test_a_later_system_message_becomes_a_developer_message():
    messages = [USER, {"role": "assistant", "content": "Hi."}, {"role": "system", "content": "X"}]
    assert ours(messages).endswith("<|start|>developer<|message|>X<|end|><|start|>assistant")


def test_a_tool_without_description_gets_no_comment_line():
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert "namespace functions {\n\ntype f = () => any;\n\n} // namespace functions" in ours(
        [USER], tools
    )


@pytest.mark.parametrize(
    "messages",
    [
        [USER, {"role": "tool", "tool_call_id": "x", "content": "orphan"}],
        [USER, {"role": "assistant", "content": "<|channel|>final<|message|>hi"}],
    ],
)
def test_conversations_the_template_refuses_are_refused(messages):
    with pytest.raises(HarmonyRenderError):
        ours(messages)


# ---- built-in tools (the template has no rule for their calls) ------------------------------
SEARCH_CALL = call("call_s", "browser.search", {"query": "Paris weather", "topn": 3})
SEARCH_RESULT = {
    "role": "tool",
    "tool_call_id": "call_s",
    "content": "[0] Paris weather\nL0: sunny",
}
BUILTINS = {"builtin_tools": ["browser", "python"]}


def test_builtin_calls_and_results_render_as_harmony_writes_them():
    messages = [
        USER,
        {"role": "assistant", "reasoning_content": "Search first.", "tool_calls": [SEARCH_CALL]},
        SEARCH_RESULT,
        {"role": "assistant", "reasoning_content": "Now compute.", "tool_calls": [PY_CALL]},
        PY_RESULT,
    ]
    text = ours(messages, None, **BUILTINS)
    assert text.endswith(
        "<|start|>assistant<|channel|>analysis<|message|>Search first.<|end|>"
        "<|start|>assistant to=browser.search<|channel|>analysis code<|message|>"
        '{"query": "Paris weather", "topn": 3}<|call|>'
        "<|start|>browser.search to=assistant<|channel|>analysis<|message|>"
        "[0] Paris weather\nL0: sunny<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>Now compute.<|end|>"
        "<|start|>assistant to=python<|channel|>analysis code<|message|>print(2 ** 10)<|call|>"
        "<|start|>python to=assistant<|channel|>analysis<|message|>1024\n<|end|>"
        "<|start|>assistant"
    )
    # the system message declares them; no functions are declared
    assert "namespace browser {" in text and "## python" in text
    assert "namespace functions" not in text and "'functions'" not in text


def test_raw_code_arguments_are_the_code():
    raw = {"id": "c", "type": "function", "function": {"name": "python", "arguments": "x = 1"}}
    text = ours([USER, {"role": "assistant", "tool_calls": [raw]}], None, **BUILTINS)
    assert text.endswith(
        "<|start|>assistant to=python<|channel|>analysis code<|message|>x = 1<|call|>"
        "<|start|>assistant"
    )


def test_builtin_calls_are_dropped_with_the_analysis_once_a_final_answer_follows():
    answered = [
        USER,
        {"role": "assistant", "reasoning_content": "Compute.", "tool_calls": [PY_CALL]},
        PY_RESULT,
        {"role": "assistant", "content": "2**10 is 1024."},
        {"role": "user", "content": "Thanks."},
    ]
    text = ours(answered, None, **BUILTINS)
    assert "to=python" not in text and "Compute." not in text and "1024\n" not in text
    assert "<|start|>assistant<|channel|>final<|message|>2**10 is 1024.<|end|>" in text


def test_functions_and_builtins_of_one_turn_each_render_their_way():
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [WEATHER_CALL, PY_CALL]},
        TOOL_RESULT,
        PY_RESULT,
    ]
    text = ours(messages, TOOLS, **BUILTINS)
    assert (
        "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>"
        '{"city": "Paris", "unit": "celsius"}<|call|>'
        "<|start|>assistant to=python<|channel|>analysis code<|message|>print(2 ** 10)<|call|>"
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
        '"{\\"temp\\": 21, \\"sky\\": \\"clear\\"}"<|end|>'
        "<|start|>python to=assistant<|channel|>analysis<|message|>1024\n<|end|>"
    ) in text
