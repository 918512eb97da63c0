"""Each family end to end: detected from its real template, served, every mode (issues 2-4).

gpt-oss has Harmony-specific checks of its own in test_harmony.py.
"""

from __future__ import annotations

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

GPT_OSS = TinyFamily(
    name="gpt-oss",
    template=str(DATA / "templates" / "openai-gpt-oss-120b.jinja"),
    control_tokens=(
        "<|startoftext|>",
        "<|endoftext|>",
        "<|start|>",
        "<|end|>",
        "<|message|>",
        "<|channel|>",
        "<|constrain|>",
        "<|return|>",
        "<|call|>",
    ),
    eos="<|return|>",
    more_eos=("<|endoftext|>", "<|call|>"),  # as gpt-oss's generation_config.json lists them
    bos="<|startoftext|>",
    pad="<|endoftext|>",
)

CASES = [
    FamilyCase(QWEN25, "hermes", favour={"<tool_call>": 4}),
    FamilyCase(
        QWEN3, "hermes", favour={"<tool_call>": 4, "<think>": 8, "</think>": 5}, reasoning=True
    ),
    FamilyCase(
        GPT_OSS,
        "openai",
        favour={"<|end|>": 5, "<|return|>": 5, "commentary": 2, " to": 2},
        reasoning=True,
    ),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.family.name)
def family(request):
    case = request.param
    server = Server(tiny_model(case.family))
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
