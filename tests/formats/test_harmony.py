"""The Harmony (gpt-oss) parser and grammar, without a server."""

from __future__ import annotations

import json
import random

import llguidance
import llguidance.hf
import pytest

from strictcall.chat.tokenizer import load_tokenizer
from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.types import assemble
from strictcall.grammar.schema import normalize_parameters
from tests.api.test_families import GPT_OSS
from tests.api.toolsets import TOOLS
from tests.conftest import tiny_model
from tests.formats.chunks import feed_by_char, feed_in_pieces

HARMONY = get_format("harmony")
NAMES = ["get_weather", "book.flight", "get-time"]
CALL = (
    "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
    '{"city": "Paris <|call|> \\"quoted\\""}<|call|>'
)
SAMPLES = [
    "<|channel|>final<|message|>plain answer<|return|>",
    "<|channel|>analysis<|message|>think < and <| not a marker<|end|>"
    "<|start|>assistant<|channel|>commentary<|message|>Checking.<|end|>"
    "<|start|>assistant" + CALL,
    CALL + "<|start|>assistant" + CALL.replace("get_weather", "get-time"),
    " to=functions.get-time<|channel|>analysis json<|message|><|call|>",
    "<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|>analysis<|message|>b<|end|>"
    "<|start|>assistant<|channel|>final<|message|>x<|end|><|start|>assistant<|channel|>final"
    "<|message|>y",
    "<|channel|>analysis to=python code<|message|>print(1)<|call|>",
    # malformed
    "<|channel|>final plain words without a message token",
    "<|channel|>final<|end|>",
    "<|channel|>chatter<|message|>stray channel<|end|>",
    "<|channel|>analysis<|message|>thought<|channel|>final<|message|>answer",
    "no harmony at all, just text.",
    "<|channel|>final<|message|>a<|end|>loose text<|start|>assistant<|channel|>final<|message|>b",
    "<|channel|>commentary to=functions.unknown <|constrain|>json<|message|>{}<|call|>",
    "<|channel|>commentary to=functions.get_weather<|message|>{not json}<|call|>tail",
    '<|channel|>commentary to=functions.get_weather<|message|>{"city": "Pa',
    '<|channel|>commentary to=functions.get_weather<|message|>{"city"<|start|>assistant'
    "<|channel|>final<|message|>after",
    "x" * 600 + "<|channel|>final<|message|>late",
    "<|channel|>final<|message|>ends with a partial marker <|ca",
]


def feed(text: str, pieces: list[int] | None = None, tools=TOOLS, **kw):
    deltas = feed_in_pieces(HARMONY.stream(tools, **kw), text, pieces)
    return assemble(deltas)


def summary(result):
    return (result.content, result.reasoning, [(c.name, c.arguments) for c in result.tool_calls])


@pytest.mark.parametrize("text", SAMPLES)
def test_result_does_not_depend_on_chunking(text):
    whole = summary(feed(text))
    rng = random.Random(3)
    for _ in range(20):
        pieces = [rng.choice([1, 1, 2, 3, 5, 8, 13, 40]) for _ in range(len(text))]
        assert summary(feed(text, pieces)) == whole
    assert summary(feed(text, [1] * len(text))) == whole


def test_channels_go_where_they_belong():
    r = feed(SAMPLES[1])
    assert r.reasoning == "think < and <| not a marker"
    assert r.content == "Checking."
    [call] = r.tool_calls
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": 'Paris <|call|> "quoted"'}


def test_several_messages_of_a_kind_are_joined_by_newlines():
    r = feed(SAMPLES[4])
    assert (r.reasoning, r.content) == ("a\nb", "x\ny")


def test_a_call_without_arguments_gets_an_empty_object():
    assert summary(feed(SAMPLES[3]))[2] == [("get-time", "{}")]


def test_builtin_tool_messages_are_kept_aside():
    parser = HARMONY.stream(TOOLS)
    out = parser.feed(SAMPLES[5]) + parser.close()
    assert assemble(out).content is None and not assemble(out).tool_calls
    assert parser.skipped == [("python", "analysis", "print(1)")]


def test_without_callable_tools_a_call_is_content():
    r = feed(CALL, calls=False)
    assert not r.tool_calls and r.content == CALL


@pytest.mark.parametrize("text", SAMPLES[6:])
def test_malformed_output_never_raises_and_keeps_its_text(text):
    for pieces in (None, [1] * len(text)):
        r = feed(text, pieces)
        for call in r.tool_calls:
            assert call.name in NAMES
            json.loads(call.arguments)
        # what is not a good call is returned, in order, as reasoning or content
        at = 0
        for piece in ((r.reasoning or "") + "\n" + (r.content or "")).split("\n"):
            at = text.find(piece, at)
            assert at >= 0, piece


@pytest.mark.parametrize(
    ("text", "content"),
    [
        (SAMPLES[6], SAMPLES[6]),  # no <|message|>
        (SAMPLES[8], SAMPLES[8]),  # a stray channel
        (SAMPLES[9], "<|channel|>final<|message|>answer"),  # a channel inside a body
        (SAMPLES[12], SAMPLES[12]),  # an undeclared tool
        (SAMPLES[13], SAMPLES[13]),  # arguments that are not JSON
        (SAMPLES[14], SAMPLES[14]),  # cut off inside the arguments
    ],
)
def test_what_is_malformed_becomes_content(text, content):
    r = feed(text)
    assert r.content == content and not r.tool_calls


def test_a_broken_call_does_not_take_the_next_message_with_it():
    r = feed(SAMPLES[15])
    assert r.content.endswith("\nafter") and not r.tool_calls


def test_a_call_is_announced_before_its_arguments_are_complete():
    parser = HARMONY.stream(TOOLS)
    head = parser.feed(CALL[:90])
    assert head[0].name == "get_weather" and head[0].id.startswith("call_")
    assert "".join(d.arguments or "" for d in head).startswith('{"city": "Par')


def test_only_a_partial_marker_is_ever_held_back():
    """64 KB of reasoning and 64 KB of arguments fed one character at a time: what the parser
    holds between feeds stays bounded (each character is looked at a bounded number of times)."""
    blob = "<|ca" + "y" * 65536
    text = (
        "<|channel|>analysis<|message|>" + "think " * 10000 + "<|end|><|start|>assistant"
        f'<|channel|>commentary to=functions.get_weather<|message|>{{"city": "{blob}"}}<|call|>'
    )
    out, held = feed_by_char(HARMONY.stream(TOOLS), text)
    assert held < len("<|constrain|>")
    r = assemble(out)
    assert len(r.reasoning) == 60000 and json.loads(r.tool_calls[0].arguments)["city"] == blob


# ---- the grammar, with the Harmony special tokens of the tiny gpt-oss model -----------------
SPECS = tuple(
    ToolSpec(t["function"]["name"], normalize_parameters(t["function"].get("parameters")))
    for t in TOOLS
)
ANALYSIS = "<|channel|>analysis<|message|>hmm<|end|><|start|>assistant"
PREAMBLE = "<|channel|>commentary<|message|>one moment<|end|><|start|>assistant"
ANSWER = HARMONY.render_answer("the answer")
ONE = HARMONY.render_calls([("get_weather", {"city": "Paris"})])
TWO = HARMONY.render_calls([("get_weather", {"city": "Paris"}), ("get-time", {})])
FLIGHT = HARMONY.render_calls(
    [("book.flight", {"from": "CDG", "to": "JFK", "passengers": [{"name": "A"}]})]
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(str(tiny_model(GPT_OSS)))


def accepts(tokenizer, spec: ConstraintSpec, text: str) -> bool:
    lltok = llguidance.hf.from_tokenizer(tokenizer.hf, eos_token=tokenizer.eos_ids)
    grammar = HARMONY.grammar(spec)
    matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar))
    assert not matcher.is_error(), matcher.get_error()
    return matcher.consume_tokens(tokenizer.encode(text)) and matcher.is_accepting()


def spec(tokenizer, mode="auto", **kw) -> ConstraintSpec:
    return ConstraintSpec(
        tools=SPECS, mode=mode, special_tokens=tokenizer.special_tokens, named="book.flight", **kw
    )


@pytest.mark.parametrize(
    ("mode", "kw", "accepted", "refused"),
    [
        ("auto", {}, [ANSWER, ANALYSIS + ANSWER, ONE, ANALYSIS + PREAMBLE + TWO], []),
        ("auto", {"parallel": False}, [ANSWER, ANALYSIS + ONE], [TWO]),
        ("required", {}, [ONE, ANALYSIS + PREAMBLE + ONE, TWO], [ANSWER, ANALYSIS + ANSWER]),
        ("required", {"parallel": False}, [ANALYSIS + ONE], [TWO, ANSWER]),
        ("named", {}, [ANALYSIS + FLIGHT, FLIGHT], [ONE, ANSWER, FLIGHT + "<|start|>assistant"]),
        ("none", {}, [ANSWER, ANALYSIS + PREAMBLE + ANSWER], [ONE, ANALYSIS + ONE]),
    ],
)
def test_grammar_per_mode(tokenizer, mode, kw, accepted, refused):
    s = spec(tokenizer, mode, **kw)
    for text in accepted:
        assert accepts(tokenizer, s, text), text
    for text in refused:
        assert not accepts(tokenizer, s, text), text


def test_markers_are_the_special_tokens_not_their_spelling(tokenizer):
    grammar = HARMONY.grammar(spec(tokenizer))
    assert "<[" in grammar and "<|end|>" not in grammar.replace("\\|", "|").split("TEXT:")[0]
    spelled = ANSWER.replace("<|return|>", "<|ret" + "urn|>")
    lltok = llguidance.hf.from_tokenizer(tokenizer.hf, eos_token=tokenizer.eos_ids)
    matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar))
    # the answer's text may not spell a marker with ordinary tokens
    assert not matcher.consume_tokens(lltok.greedy_tokenize(spelled))


def test_response_format_shapes_the_final_answer(tokenizer):
    s = spec(tokenizer, "none", content='%json {"type": "object", "required": ["a"]}')
    assert accepts(tokenizer, s, HARMONY.render_answer('{"a": 1}'))
    assert not accepts(tokenizer, s, ANSWER)
    no_tools = ConstraintSpec(content='%json {"type": "integer"}')
    assert "final" in HARMONY.grammar(no_tools)
    assert HARMONY.grammar(ConstraintSpec()) is None  # no tools, no format: unconstrained
