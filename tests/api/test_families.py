"""Each family end to end: detected from its real template, served, every mode (issues 2-4)."""

from __future__ import annotations

import openai
import pytest

from strictcall.demo import QWEN25, TinyFamily
from tests.api.family_harness import FamilyCase, exercise, reasoning_of
from tests.conftest import DATA, Server, tiny_model

QWEN3 = TinyFamily(
    name="qwen3",
    template=str(DATA / "templates" / "Qwen-Qwen3-0.6B.jinja"),
    control_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
    added_tokens=(
        "<tool_call>",
        "</tool_call>",
        "<think>",
        "</think>",
        "<tool_response>",
        "</tool_response>",
    ),
    eos="<|im_end|>",
    pad="<|endoftext|>",
)

LLAMA_CONTROL = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    "<|finetune_right_pad_id|>",
)
LLAMA32_PYTHONIC = TinyFamily(
    name="llama3.2-pythonic",
    template="llama3.2-pythonic.jinja",  # shipped: the official template cannot render calls
    control_tokens=LLAMA_CONTROL,
    eos="<|eot_id|>",
    bos="<|begin_of_text|>",
    pad="<|finetune_right_pad_id|>",
    architecture="llama",
)
LLAMA4 = TinyFamily(
    name="llama4-pythonic",
    template=str(DATA / "templates" / "llama4-pythonic.jinja"),
    control_tokens=(
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|header_start|>",
        "<|header_end|>",
        "<|eom|>",
        "<|eot|>",
        "<|python_start|>",
        "<|python_end|>",
        "<|finetune_right_pad|>",
    ),
    eos="<|eot|>",
    bos="<|begin_of_text|>",
    pad="<|finetune_right_pad|>",
    architecture="llama",
)
_DEEPSEEK_MARKERS = (
    "<｜tool▁calls▁begin｜>",
    "<｜tool▁calls▁end｜>",
    "<｜tool▁call▁begin｜>",
    "<｜tool▁call▁end｜>",
    "<｜tool▁sep｜>",
    "<｜tool▁outputs▁begin｜>",
    "<｜tool▁outputs▁end｜>",
    "<｜tool▁output▁begin｜>",
    "<｜tool▁output▁end｜>",
    "<｜User｜>",
    "<｜Assistant｜>",
    "<think>",
    "</think>",
)
DEEPSEEK_V3 = TinyFamily(
    name="deepseek-v3",
    template=str(DATA / "templates" / "deepseek-v3-tools.jinja"),
    control_tokens=("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"),
    added_tokens=_DEEPSEEK_MARKERS,
    eos="<｜end▁of▁sentence｜>",
    bos="<｜begin▁of▁sentence｜>",
    pad="<｜▁pad▁｜>",
)
DEEPSEEK_V31 = TinyFamily(
    name="deepseek-v3.1",
    template=str(DATA / "templates" / "deepseek-ai-DeepSeek-V3.1.jinja"),
    control_tokens=DEEPSEEK_V3.control_tokens,
    added_tokens=_DEEPSEEK_MARKERS,
    eos="<｜end▁of▁sentence｜>",
    bos="<｜begin▁of▁sentence｜>",
    pad="<｜▁pad▁｜>",
)
QWEN3_CODER = TinyFamily(
    name="qwen3-coder",
    template=str(DATA / "templates" / "Qwen3-Coder.jinja"),
    control_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
    added_tokens=("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"),
    eos="<|im_end|>",
    pad="<|endoftext|>",
)


def _explicit(name: str) -> tuple[str, ...]:
    return ("--tool-format", name)


CASES = [
    FamilyCase(QWEN25, "hermes", favour={"<tool_call>": 4}),
    FamilyCase(
        QWEN3, "hermes", favour={"<tool_call>": 4, "<think>": 8, "</think>": 5}, reasoning=True
    ),
    FamilyCase(LLAMA32_PYTHONIC, "pythonic", favour={"[": 7}, server_args=_explicit("pythonic")),
    FamilyCase(
        LLAMA4,
        "llama4_pythonic",
        favour={"<|python_start|>": 6},
        server_args=_explicit("llama4_pythonic"),
    ),
    FamilyCase(
        DEEPSEEK_V3,
        "deepseek_v3",
        favour={"<｜tool▁calls▁begin｜>": 5},
        server_args=_explicit("deepseek_v3"),
    ),
    FamilyCase(
        DEEPSEEK_V31,
        "deepseek_v31",
        favour={"<｜tool▁calls▁begin｜>": 5, "<think>": 8, "</think>": 5},
        reasoning=True,
        server_args=_explicit("deepseek_v31"),
    ),
    FamilyCase(
        QWEN3_CODER,
        "qwen3_coder",
        favour={"<tool_call>": 4},
        server_args=_explicit("qwen3_coder"),
    ),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.family.name)
def family(request):
    case = request.param
    server = Server(tiny_model(case.family), *case.server_args)
    yield case, server
    server.stop()


def test_format_is_detected(family):
    case, server = family
    models = server.client().models.list()
    assert models.data[0].model_extra["tool_format"] == case.format_name


def test_every_mode_streaming_and_not(family):
    case, server = family
    by_mode = exercise(server, case)
    assert any(c.message.tool_calls for c in by_mode["auto"]), "auto never called a tool"
    if case.reasoning:
        thought = [c for m in by_mode.values() for c in m if reasoning_of(c)]
        assert thought, "reasoning never appeared"
        for c in thought:
            assert "<think>" not in (c.message.content or "")
            assert "</think>" not in (c.message.content or "")
        # reasoning is still allowed before a forced call
        assert any(reasoning_of(c) and c.message.tool_calls for c in by_mode["required"])


ODD_NAME = {
    "type": "function",
    "function": {
        "name": "f",
        "parameters": {"type": "object", "properties": {"a b": {"type": "string"}}},
    },
}


def test_what_the_syntax_cannot_write_is_refused_by_name(family):
    """A key with a space is fine in JSON arguments, but no keyword argument or XML parameter
    can be named so: a 400 that names the keyword, never a call the grammar cannot make."""
    case, server = family
    if case.format_name not in ("pythonic", "llama4_pythonic", "qwen3_coder"):
        pytest.skip("JSON arguments can carry any key")
    with pytest.raises(openai.BadRequestError) as err:
        server.client().chat.completions.create(
            model=server.model,
            messages=[{"role": "user", "content": "hi"}],
            tools=[ODD_NAME],
            max_tokens=4,
        )
    assert err.value.code == "invalid_tool_schema"
    assert "'properties'" in err.value.message and "a b" in err.value.message
