"""gpt-oss's own built-in tools (python, browser.*): the grammar and the parser, no server."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from strictcall.chat.tokenizer import load_tokenizer
from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.types import assemble
from strictcall.tools.browser import BROWSER_TOOLS
from strictcall.tools.python import PYTHON_TOOL, code_of
from tests.api.test_families import GPT_OSS
from tests.api.toolsets import TOOLS
from tests.conftest import tiny_model
from tests.formats.chunks import feed_in_pieces
from tests.formats.test_harmony import SPECS, accepts

HARMONY = get_format("harmony")
BUILTINS = tuple(dataclasses.replace(t.spec(), native=True) for t in (PYTHON_TOOL, *BROWSER_TOOLS))
NATIVE = [*TOOLS, *BUILTINS]  # what a Responses request with both kinds offers
CODE = 'print("a\\tb")\nx = {"k": [1, 2]}  # <| not a marker, "quotes", \\ and é\nx'
PY = HARMONY.render_builtin_call("python", CODE)
SEARCH = HARMONY.render_builtin_call("browser.search", {"query": "weather <|call|> Paris"})
THINK = "<|channel|>analysis<|message|>let me compute<|end|><|start|>assistant"
FUNCTION = HARMONY.render_calls([("get_weather", {"city": "Paris"})])
SAMPLES = [
    PY,
    THINK + PY,
    SEARCH,
    THINK + SEARCH + "<|start|>assistant" + PY,
    # the other spellings Harmony allows: recipient before the channel, <|constrain|>json
    "<|start|>assistant to=browser.find<|channel|>analysis <|constrain|>json<|message|>"
    '{"pattern": "x"}',
    "<|channel|>commentary to=python<|message|>1 + 1<|call|>",
    # the engine stops on <|call|>: a call's body may simply end
    "<|channel|>analysis to=python code<|message|>print(1)",
    # malformed
    "<|channel|>analysis to=python code<|message|>print(1)<|channel|>final<|message|>hi",
    "<|channel|>analysis to=browser.search code<|message|>not json<|call|>tail",
    '<|channel|>analysis to=browser.search code<|message|>{"query": "cut',
    "<|channel|>analysis to=browser.open code<|message|>[1]<|call|>",
]


def feed(text: str, pieces: list[int] | None = None, tools=NATIVE, **kw):
    parser = HARMONY.stream(tools, **kw)
    deltas = feed_in_pieces(parser, text, pieces)
    return assemble(deltas), parser


def summary(result):
    return (result.content, result.reasoning, [(c.name, c.arguments) for c in result.tool_calls])


# ---- the parser ------------------------------------------------------------------------------
@pytest.mark.parametrize("text", SAMPLES)
def test_result_does_not_depend_on_chunking(text):
    whole = summary(feed(text)[0])
    rng = random.Random(5)
    for _ in range(20):
        pieces = [rng.choice([1, 1, 2, 3, 5, 8, 13, 40]) for _ in range(len(text))]
        assert summary(feed(text, pieces)[0]) == whole
    assert summary(feed(text, [1] * len(text))[0]) == whole


def test_a_python_call_is_its_code_as_json_arguments():
    r, parser = feed(THINK + PY)
    assert r.reasoning == "let me compute" and r.content is None
    [call] = r.tool_calls
    assert call.name == "python" and call.id.startswith("call_")
    assert json.loads(call.arguments) == {"code": CODE}
    assert code_of(call.arguments) == CODE  # what the Responses tool layer runs
    assert not parser.skipped


def test_the_code_streams_as_it_comes():
    parser = HARMONY.stream(NATIVE)
    head = parser.feed(PY[: PY.index("\n")])
    assert head[0].name == "python"
    assert "".join(d.arguments or "" for d in head) == '{"code": "print(\\"a\\\\tb\\")'
    rest = parser.feed(PY[PY.index("\n") :]) + parser.close()
    assert "".join(d.arguments or "" for d in head + rest) == json.dumps(
        {"code": CODE}, ensure_ascii=False
    )


def test_browser_calls_carry_their_json_arguments():
    r, _ = feed(SAMPLES[3])
    assert [(c.name, json.loads(c.arguments)) for c in r.tool_calls] == [
        ("browser.search", {"query": "weather <|call|> Paris"}),
        ("python", {"code": CODE}),
    ]
    r, _ = feed(SAMPLES[4])
    assert [(c.name, c.arguments) for c in r.tool_calls] == [("browser.find", '{"pattern": "x"}')]


def test_functions_and_builtins_side_by_side():
    r, _ = feed(THINK + FUNCTION + "<|start|>assistant" + PY)
    assert [c.name for c in r.tool_calls] == ["get_weather", "python"]


@pytest.mark.parametrize(
    "tools",
    [TOOLS, [*TOOLS, *(ToolSpec(t.name, t.parameters) for t in BUILTINS)]],
    ids=["not offered", "offered as functions"],
)
def test_builtins_the_request_did_not_enable_natively_stay_aside(tools):
    r, parser = feed(THINK + PY, tools=tools)
    assert not r.tool_calls and r.content is None
    assert parser.skipped == [("python", "analysis", CODE)]


def test_with_calls_forbidden_a_builtin_message_stays_aside():
    r, parser = feed(PY, calls=False)
    assert not r.tool_calls and r.content is None and parser.skipped


@pytest.mark.parametrize("text", SAMPLES[7:])
def test_a_malformed_builtin_call_becomes_content(text):
    for pieces in (None, [1] * len(text)):
        r, parser = feed(text, pieces)
        assert not r.tool_calls and parser.malformed == 1
        assert text.startswith(r.content)  # its text, raw, from the header on


# ---- the grammar -----------------------------------------------------------------------------
ANSWER = HARMONY.render_answer("done")
LOOKUP = HARMONY.render_builtin_call("browser.search", {"query": "weather in Paris"})
OPEN = HARMONY.render_builtin_call("browser.open", {"id": 3, "num_lines": 20})
BAD_SEARCH = HARMONY.render_builtin_call("browser.search", {"q": "x"})  # `query` is required
FUNCTION_PY = HARMONY.render_calls([("python", {"code": "1"})])  # not how a built-in is called


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(str(tiny_model(GPT_OSS)))


def spec(tokenizer, mode="auto", named=None, **kw) -> ConstraintSpec:
    return ConstraintSpec(
        tools=SPECS + BUILTINS,
        mode=mode,
        named=named,
        special_tokens=tokenizer.special_tokens,
        **kw,
    )


@pytest.mark.parametrize(
    ("mode", "named", "kw", "accepted", "refused"),
    [
        (
            "auto",
            None,
            {},
            [
                ANSWER,
                THINK + PY,
                LOOKUP,
                OPEN,
                FUNCTION,
                THINK + PY + "<|start|>assistant" + LOOKUP,
            ],
            [BAD_SEARCH, FUNCTION_PY],
        ),
        ("required", None, {}, [PY, THINK + LOOKUP, FUNCTION], [ANSWER, THINK + ANSWER]),
        ("required", None, {"parallel": False}, [PY], [PY + "<|start|>assistant" + LOOKUP]),
        ("named", "python", {}, [PY, THINK + PY], [LOOKUP, FUNCTION, ANSWER]),
        ("named", "browser.search", {}, [LOOKUP], [PY, OPEN, BAD_SEARCH]),
        ("none", None, {}, [ANSWER, THINK + ANSWER], [PY, LOOKUP, THINK + PY]),
    ],
)
def test_tool_choice_holds_for_builtins(tokenizer, mode, named, kw, accepted, refused):
    s = spec(tokenizer, mode, named, **kw)
    for text in accepted:
        assert accepts(tokenizer, s, text), text
    for text in refused:
        assert not accepts(tokenizer, s, text), text


def test_code_cannot_spell_out_a_harmony_marker(tokenizer):
    s = spec(tokenizer, "named", "python")
    assert accepts(tokenizer, s, HARMONY.render_builtin_call("python", "print('<|')"))
    spelled = "<|channel|>analysis to=python code<|message|>x = '<|" + "end|>'<|call|>"
    assert not accepts(tokenizer, s, spelled)


def test_what_the_grammar_writes_the_parser_reads(tokenizer):
    s = spec(tokenizer, "auto")
    for text in (THINK + PY, LOOKUP, OPEN):
        assert accepts(tokenizer, s, text)
        r, parser = feed(text)
        assert len(r.tool_calls) == 1 and parser.malformed == 0
