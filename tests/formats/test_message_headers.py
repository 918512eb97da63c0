"""Families whose every message opens with a header: Functionary v3.2 (`>>>RECIPIENT\n`, the
first `>>>` written by the prompt) and Solar Open (`<|content|>`, `<|tool_calls|>`, ids the
model writes). Grammar per mode with each family's tiny-model tokenizer, and the parser on
llama.cpp's and vLLM's cases."""

from __future__ import annotations

import json
import re

import llguidance
import llguidance.hf
import pytest

from strictcall.chat.render import render_text, template_has_reasoning
from strictcall.chat.tokenizer import load_tokenizer
from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.types import assemble
from strictcall.grammar.schema import normalize_parameters
from tests.api.modern_families import FUNCTIONARY_V32, SOLAR_OPEN
from tests.api.toolsets import TOOLS
from tests.conftest import DATA, tiny_model
from tests.formats.chunks import feed_by_char, feed_in_pieces

SPECS = tuple(
    ToolSpec(t["function"]["name"], normalize_parameters(t["function"].get("parameters")))
    for t in TOOLS
)
FUNCTIONARY = get_format("functionary_v3_2")
SOLAR = get_format("solar_open")


def _accepts(tokenizer, fmt, spec: ConstraintSpec, text: str) -> bool:
    lltok = llguidance.hf.from_tokenizer(tokenizer.hf, eos_token=tokenizer.eos_ids)
    grammar = fmt.grammar(spec)
    matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar))
    assert not matcher.is_error(), matcher.get_error()
    return matcher.consume_tokens(tokenizer.encode(text)) and matcher.is_accepting()


def _read(fmt, text: str, **kw):
    return assemble(feed_in_pieces(fmt.stream(TOOLS, **kw), text))


def _calls(result) -> list[tuple[str, dict]]:
    return [(c.name, json.loads(c.arguments)) for c in result.tool_calls]


# ---- Functionary v3.2 ------------------------------------------------------------------------
# what the model writes after the prompt's `>>>`
F_ANSWER = "all\nHello, world!\nWhat's up?"
F_ONE = 'get_weather\n{"city": "Paris"}'
F_TWO = F_ONE + ">>>get-time\n{}"
F_MIXED = "all\nLet me check.>>>" + F_ONE
F_FLIGHT = 'book.flight\n{"from": "CDG", "to": "JFK", "passengers": [{"name": "Ann"}]}'


@pytest.fixture(scope="module")
def f_tokenizer():
    return load_tokenizer(str(tiny_model(FUNCTIONARY_V32)))


def test_the_generation_prompt_opens_the_output():
    template = (DATA / "templates" / "meetkai-functionary-medium-v3.2.jinja").read_text()
    messages = [{"role": "user", "content": "Weather?"}]
    prompt = render_text(template, messages, TOOLS, {"bos_token": ""})
    assert FUNCTIONARY.opened_by(prompt) == ">>>"
    assert FUNCTIONARY.opened_by(prompt.removesuffix(">>>")) == ""  # another template
    assert get_format("hermes").opened_by(prompt) == ""


@pytest.mark.parametrize(
    ("mode", "kw", "accepted", "refused"),
    [
        ("auto", {}, [F_ANSWER, F_ONE, F_TWO, F_MIXED], [">>>" + F_ONE, "Hello", "all\na>>>b"]),
        ("auto", {"parallel": False}, [F_ANSWER, F_ONE, F_MIXED], [F_TWO, F_MIXED + ">>>" + F_ONE]),
        ("required", {}, [F_ONE, F_TWO], [F_ANSWER, F_MIXED, ">>>" + F_ONE]),
        ("required", {"parallel": False}, [F_ONE], [F_TWO, F_ANSWER]),
        ("named", {}, [F_FLIGHT], [F_ONE, F_ANSWER, F_FLIGHT + ">>>" + F_FLIGHT]),
        ("none", {}, [F_ANSWER], [F_ONE, F_MIXED, "Hello", "all\nsee >>> here"]),
    ],
)
def test_functionary_grammar_writes_what_follows_the_prompts_opening(
    f_tokenizer, mode, kw, accepted, refused
):
    spec = ConstraintSpec(tools=SPECS, mode=mode, named="book.flight", opened=">>>", **kw)
    for text in accepted:
        assert _accepts(f_tokenizer, FUNCTIONARY, spec, text), text
    for text in refused:
        assert not _accepts(f_tokenizer, FUNCTIONARY, spec, text), text


def test_functionary_grammar_without_the_opening_writes_it(f_tokenizer):
    """A prompt that does not end in `>>>` (another template): every message has its own."""
    spec = ConstraintSpec(tools=SPECS, mode="auto")
    assert _accepts(f_tokenizer, FUNCTIONARY, spec, ">>>" + F_MIXED)
    assert not _accepts(f_tokenizer, FUNCTIONARY, spec, F_MIXED)


@pytest.mark.parametrize(
    ("text", "content", "calls"),
    [
        # llama.cpp's test-chat cases for FUNCTIONARY_V3_2
        (
            'all\nHello, world!\nnono\nWhat\'s up?>>>special_function\n{"arg1": 1}\n',
            "Hello, world!\nnono\nWhat's up?",
            [("special_function", {"arg1": 1})],
        ),
        (
            'special_function\n{"arg1": 1} \n                    ',
            None,
            [("special_function", {"arg1": 1})],
        ),
        ("all\nHello, world!\nWhat's up?", "Hello, world!\nWhat's up?", []),
        (
            'get_weather\n{"city": "Paris"}>>>get-time\n{}',
            None,
            [("get_weather", {"city": "Paris"}), ("get-time", {})],
        ),
        # not a call: what the model wrote comes back, without the prompt's `>>>`
        ("Hello there", "Hello there", []),
        ('get_weather({"city": "Paris"})', 'get_weather({"city": "Paris"})', []),
        ("allergy\n{}", "allergy\n{}", []),
    ],
)
def test_functionary_reads_the_output_after_the_prompts_opening(text, content, calls):
    tools = [*TOOLS, {"type": "function", "function": {"name": "special_function"}}]
    whole = assemble(feed_in_pieces(FUNCTIONARY.stream(tools, opened=">>>"), text))
    deltas, held = feed_by_char(FUNCTIONARY.stream(tools, opened=">>>"), text)
    for result in (whole, assemble(deltas)):
        assert (result.content, _calls(result)) == (content, calls)
    assert held <= len(">>>all\n")


def test_functionary_a_later_call_cut_off_comes_back_with_its_own_opening():
    """Only the output's start follows the prompt's `>>>`: a later call the model began with
    `>>>` and did not finish is content as written."""
    result = _read(FUNCTIONARY, F_ONE + '>>>get_weather\n{"city": "Ly', opened=">>>")
    assert _calls(result) == [("get_weather", {"city": "Paris"})]
    assert result.content == '>>>get_weather\n{"city": "Ly'


def test_functionary_tool_choice_none_still_drops_the_recipient():
    result = _read(FUNCTIONARY, "all\nJust text", opened=">>>", calls=False)
    assert result.content == "Just text" and not result.tool_calls


# ---- Solar Open ------------------------------------------------------------------------------
def _block(call_id: str, name: str, args: str) -> str:
    return (
        f"<|tool_call:begin|>{call_id}<|tool_call:name|>{name}"
        f"<|tool_call:args|>{args}<|tool_call:end|>"
    )


S_THINK = "<|think|>Let me think.<|end|><|begin|>assistant"
S_ANSWER = "<|content|>The answer"
S_ONE = "<|tool_calls|>" + _block("a1b2c3d4e5", "get_weather", '{"city": "Paris"}') + "<|calls|>"
S_TWO = (
    "<|tool_calls|>"
    + _block("a1b2c3d4e5", "get_weather", '{"city": "Paris"}')
    + _block("f6g7h8i9j0", "get-time", "{}")
    + "<|calls|>"
)
S_MIXED = "<|content|>Let me check.<|end|><|begin|>assistant" + S_ONE
S_FLIGHT = (
    "<|tool_calls|>"
    + _block("k1l2m3n4o5", "book.flight", '{"from": "CDG", "to": "JFK", "passengers": []}')
    + "<|calls|>"
).replace("[]", '[{"name": "Ann"}]')
S_BAD_IDS = [S_ONE.replace("a1b2c3d4e5", bad) for bad in ("A1B2C3D4E5", "a1b2", "a1b2c3d4e5f6")]


@pytest.fixture(scope="module")
def s_tokenizer():
    return load_tokenizer(str(tiny_model(SOLAR_OPEN)))


@pytest.mark.parametrize(
    ("mode", "kw", "accepted", "refused"),
    [
        (
            "auto",
            {},
            [S_ANSWER, S_ANSWER + "<|end|>", S_ONE, S_TWO, S_MIXED, S_THINK + S_MIXED],
            ["The answer", S_ANSWER + S_ONE, *S_BAD_IDS],
        ),
        ("auto", {"parallel": False}, [S_ANSWER, S_THINK + S_ONE, S_MIXED], [S_TWO]),
        ("required", {}, [S_ONE, S_TWO, S_THINK + S_TWO], [S_ANSWER, S_THINK + S_ANSWER]),
        ("required", {"parallel": False}, [S_THINK + S_ONE], [S_TWO, S_ANSWER]),
        ("named", {}, [S_FLIGHT, S_THINK + S_FLIGHT], [S_ONE, S_ANSWER]),
        ("none", {}, [S_ANSWER, S_THINK + S_ANSWER + "<|end|>"], [S_ONE, S_MIXED, S_THINK]),
    ],
)
def test_solar_grammar_per_mode(s_tokenizer, mode, kw, accepted, refused):
    spec = ConstraintSpec(
        tools=SPECS,
        mode=mode,
        named="book.flight",
        reasoning=True,
        special_tokens=s_tokenizer.special_tokens,
        **kw,
    )
    for text in accepted:
        assert _accepts(s_tokenizer, SOLAR, spec, text), text
    for text in refused:
        assert not _accepts(s_tokenizer, SOLAR, spec, text), text


def test_solar_template_writes_its_reasoning_markers():
    template = (DATA / "templates" / "upstage-Solar-Open-100B.jinja").read_text()
    assert template_has_reasoning(template, SOLAR.reasoning)


_VLLM_TOOLS = [
    {"type": "function", "function": {"name": "get_weather"}},
    {"type": "function", "function": {"name": "get_time"}},
]
_ID = re.compile(r"^[a-z0-9]{10}$")


@pytest.mark.parametrize(
    ("text", "content", "calls", "ids"),
    [
        # vLLM's tests/tool_parsers/test_solar_open_tool_parser.py
        ("Hello, how can I help you today?", "Hello, how can I help you today?", [], []),
        (
            "<|tool_calls|>" + _block("a1b2c3d4e5", "get_weather", '{"city": "Seoul"}'),
            None,
            [("get_weather", {"city": "Seoul"})],
            ["a1b2c3d4e5"],
        ),
        (
            "<|tool_calls|>"
            + _block("a1b2c3d4e5", "get_weather", '{"city": "Seoul"}')
            + _block("f6g7h8i9j0", "get_time", '{"tz": "UTC"}'),
            None,
            [("get_weather", {"city": "Seoul"}), ("get_time", {"tz": "UTC"})],
            ["a1b2c3d4e5", "f6g7h8i9j0"],
        ),
        (
            "<|tool_calls|>" + _block("a1b2c3d4e5", "get_weather", "{}"),
            None,
            [("get_weather", {})],
            ["a1b2c3d4e5"],
        ),
        (
            "<|tool_calls|>" + _block("a1b2c3d4e5", "get_weather", '{"city": "서울"}'),
            None,
            [("get_weather", {"city": "서울"})],
            ["a1b2c3d4e5"],
        ),
        (
            "Let me check.<|end|><|begin|>assistant<|tool_calls|>"
            + _block("a1b2c3d4e5", "get_weather", '{"city": "Seoul"}'),
            "Let me check.",
            [("get_weather", {"city": "Seoul"})],
            ["a1b2c3d4e5"],
        ),
        # the answer as the model writes it: its header and end marker are not content
        ("<|content|>The answer<|end|>", "The answer", [], []),
        (
            S_THINK + "<|content|>Let me check.<|end|><|begin|>assistant" + S_TWO,
            "Let me check.",
            [("get_weather", {"city": "Paris"}), ("get-time", {})],
            ["a1b2c3d4e5", "f6g7h8i9j0"],
        ),
    ],
)
def test_solar_reads_vllms_cases(text, content, calls, ids):
    tools = [*TOOLS, *_VLLM_TOOLS]
    whole = assemble(feed_in_pieces(SOLAR.stream(tools), text))
    for size in (1, 3, 7, 1000):
        pieces = [size] * (len(text) // size + 1)
        streamed = assemble(feed_in_pieces(SOLAR.stream(tools), text, pieces))
        for result in (whole, streamed):
            assert (result.content, _calls(result)) == (content, calls)
            assert [c.id for c in result.tool_calls] == ids
            assert "<|" not in (result.content or "")


def test_solar_ids_written_twice_are_made_unique():
    """Greedy sampling can write the same "random" id for two calls: each keeps its own."""
    text = (
        "<|tool_calls|>"
        + _block("0000000000", "get_weather", '{"city": "Seoul"}')
        + _block("0000000000", "get_time", '{"tz": "UTC"}')
    )
    result = assemble(feed_in_pieces(SOLAR.stream([*TOOLS, *_VLLM_TOOLS]), text))
    ids = [c.id for c in result.tool_calls]
    assert ids[0] == "0000000000" and len(set(ids)) == 2 and all(_ID.match(i) for i in ids)


def test_solar_call_without_an_id_gets_one_of_its_shape():
    text = "<|tool_calls|>" + _block("", "get_weather", '{"city": "Seoul"}')
    result = assemble(feed_in_pieces(SOLAR.stream(TOOLS), text))
    assert _ID.match(result.tool_calls[0].id)


def test_solar_an_id_of_another_shape_is_kept_as_written():
    """vLLM replaces it; the grammar only writes the template's shape, and unconstrained
    output keeps the id the model wrote (docs/conformance.md)."""
    text = "<|tool_calls|>" + _block("NOT-VALID", "get_weather", '{"city": "Seoul"}')
    assert [c.id for c in _read(SOLAR, text).tool_calls] == ["NOT-VALID"]


@pytest.mark.parametrize(
    "args",
    # vLLM turns Python literals into JSON and passes malformed arguments on; here a call is
    # complete and valid or it is content (docs/conformance.md)
    ["{'city': 'Seoul', 'days': 3}", '{"city": "Seoul", broken'],
)
def test_solar_arguments_that_are_not_json_are_content(args):
    text = "<|tool_calls|>" + _block("a1b2c3d4e5", "get_weather", args)
    result = assemble(feed_in_pieces(SOLAR.stream(TOOLS), text))
    assert not result.tool_calls and args in result.content
