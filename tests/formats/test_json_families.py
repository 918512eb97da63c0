"""The JSON-bodied families (mistral, llama3_json, granite, granite-20b-fc, internlm): what each
reads, which generation it writes, and how the shared machinery serves them."""

from __future__ import annotations

import json
import random

import llguidance
import llguidance.hf
import pytest
from transformers import AutoTokenizer

from strictcall.chat.probe import probe
from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.detect import choose_syntax
from strictcall.formats.mistral import V1, V2, V3, prompt_call_id
from strictcall.formats.types import assemble
from tests.conftest import DATA
from tests.formats.chunks import feed_in_pieces

TOOLS = [{"type": "function", "function": {"name": n}} for n in ("f", "get_weather", "g")]


def read(fmt_name: str, text: str, pieces: list[int] | None = None, tools=TOOLS):
    return assemble(feed_in_pieces(get_format(fmt_name).stream(tools), text, pieces))


def calls(result) -> list[tuple[str, dict]]:
    return [(c.name, json.loads(c.arguments)) for c in result.tool_calls]


def same_however_chunked(fmt_name: str, text: str, tools=TOOLS):
    """The result of reading `text` whole, checked against one char and random pieces."""
    whole = read(fmt_name, text, tools=tools)
    rng = random.Random(3)
    for pieces in ([1] * len(text), *([rng.randint(1, 9) for _ in text] for _ in range(5))):
        got = read(fmt_name, text, pieces, tools=tools)
        assert (got.content, calls(got)) == (whole.content, calls(whole)), pieces
    return whole


# ---- mistral ------------------------------------------------------------------------------
MISTRAL_SAMPLES = {
    "v1": '[TOOL_CALLS][{"name": "f", "arguments": {"x": 1}}, {"name": "g", "arguments": {}}]',
    "v1 spaced": '[TOOL_CALLS] [ {"arguments": {"x": 1}, "name": "f"} , {"name": "g"}]',
    "v2": '[TOOL_CALLS]f{"x": 1}[TOOL_CALLS]g{}',
    "v3": '[TOOL_CALLS]f[ARGS]{"x": 1}[TOOL_CALLS]g[ARGS]{}',
    "mixed v2/v3": '[TOOL_CALLS]f{"x": 1}[TOOL_CALLS]g[ARGS]{}',
    "one object": '[TOOL_CALLS] {"name": "f", "arguments": {"x": 1}}, {"name": "g"}',
    "marker twice": '[TOOL_CALLS] [TOOL_CALLS] [{"name": "f", "arguments": {"x": 1}}, '
    '{"name": "g"}]',
    "string arguments": '[TOOL_CALLS][{"name": "f", "arguments": "{\\"x\\": 1}"}, {"name": "g"}]',
    "bare name": '[TOOL_CALLS]f[ARGS]{"x": 1}[TOOL_CALLS]g',
}


@pytest.mark.parametrize("text", MISTRAL_SAMPLES.values(), ids=MISTRAL_SAMPLES.keys())
def test_mistral_reads_every_generation(text):
    result = same_however_chunked("mistral", text)
    assert calls(result) == [("f", {"x": 1}), ("g", {})]
    assert result.content is None


def test_mistral_text_around_calls_is_content():
    result = same_however_chunked("mistral", 'Let me see.[TOOL_CALLS]f[ARGS]{"x": 1} done')
    assert calls(result) == [("f", {"x": 1})]
    assert result.content == "Let me see. done"


NEMO = (DATA / "templates" / "mistralai-Mistral-Nemo-Instruct-2407.jinja").read_text()
V2_TEMPLATE = (
    "{%- for m in messages %}{%- if m.tool_calls %}{%- for c in m.tool_calls %}"
    "{{- '[TOOL_CALLS]' + c.function.name + c.function.arguments|tojson }}"
    "{%- endfor %}{%- else %}[INST]{{ m.content }}[/INST]{%- endif %}{%- endfor %}"
)
V3_TEMPLATE = V2_TEMPLATE.replace("c.function.name + ", "c.function.name + '[ARGS]' + ")


@pytest.mark.parametrize(
    ("template", "generation"),
    [(NEMO, V1), (V2_TEMPLATE, V2), (V3_TEMPLATE, V3)],
    ids=["nemo", "v2", "v3"],
)
def test_mistral_writes_the_generation_its_template_renders(template, generation):
    fmt = choose_syntax(get_format("mistral"), probe(template), {"[TOOL_CALLS]"})
    assert fmt.syntax == generation
    assert set(fmt.syntaxes) == set(get_format("mistral").syntaxes)  # still reads them all
    text = fmt.render_calls([("f", {"x": 1})])
    assert calls(fmt.parse(text, TOOLS)) == [("f", {"x": 1})]


def test_mistral_call_ids_are_nine_alphanumerics():
    result = get_format("mistral").parse(MISTRAL_SAMPLES["v3"], TOOLS)
    for call in result.tool_calls:
        assert len(call.id) == 9 and call.id.isalnum(), call.id


def test_mistral_maps_foreign_ids_for_its_templates():
    assert prompt_call_id("abcDEF123") == "abcDEF123"
    mapped = prompt_call_id("call_0123456789abcdefghijklmn")
    assert len(mapped) == 9 and mapped.isalnum()
    assert mapped == prompt_call_id("call_0123456789abcdefghijklmn")  # call and result agree
    assert mapped != prompt_call_id("call_0123456789abcdefghijklmo")


# ---- llama3_json --------------------------------------------------------------------------
LLAMA_SAMPLES = {
    "one": '{"name": "f", "parameters": {"x": 1}}',
    "several": '{"name": "f", "parameters": {"x": 1}}; {"name": "g", "arguments": {}}',
    "spaced": '\n {"name": "f", "parameters": {"x": 1}} ;\n{"name": "g", "parameters": {}}',
    "python tag": '<|python_tag|>{"name": "f", "parameters": {"x": 1}}; '
    '{"name": "g", "parameters": {}}',
}


@pytest.mark.parametrize("text", LLAMA_SAMPLES.values(), ids=LLAMA_SAMPLES.keys())
def test_llama3_reads_calls_that_open_the_answer(text):
    result = same_however_chunked("llama3_json", text)
    assert [n for n, _ in calls(result)] == ["f", "g"][: text.count('"name"')]
    assert not (result.content or "").strip()


@pytest.mark.parametrize(
    "text",
    [
        'Here it is: {"name": "f", "parameters": {"x": 1}}',  # not at the start
        '{"name": "f"}',  # no parameters: an answer, not a call
        '{"name": "nope", "parameters": {}}',  # not a tool
        '{"answer": 42}',
        "{not json",
        '{"name": "f", "parameters": {"x": 1}',  # cut off
    ],
)
def test_llama3_json_that_is_not_a_call_is_content(text):
    result = same_however_chunked("llama3_json", text)
    assert result.tool_calls == []
    assert result.content == text.strip()


def test_llama3_text_after_the_calls_is_content():
    result = same_however_chunked("llama3_json", '{"name": "f", "parameters": {}} and more')
    assert calls(result) == [("f", {})]
    assert result.content == " and more"


# ---- granite, granite-20b-fc, internlm -----------------------------------------------------
@pytest.mark.parametrize(
    ("fmt_name", "text"),
    [
        ("granite", '<|tool_call|>[{"name": "f", "arguments": {"x": 1}}, {"name": "g"}]'),
        ("granite", '<tool_call> [{"arguments": {"x": 1}, "name": "f"},\n {"name": "g"}]'),
        ("granite-20b-fc", '<function_call> {"name": "f", "arguments": {"x": 1}}'),
        (
            "granite-20b-fc",
            '<function_call> {"name": "f", "arguments": {"x": 1}}\n'
            '<function_call> {"name": "g", "arguments": {}}',
        ),
        (
            "internlm",
            '<|action_start|><|plugin|>\n{"name": "f", "parameters": {"x": 1}}<|action_end|>',
        ),
        (
            "internlm",
            '<|action_start|><|plugin|>{"name": "f", "arguments": {"x": 1}}<|action_end|>\n'
            '<|action_start|><|plugin|>\n{"name": "g", "parameters": {}}<|action_end|>',
        ),
    ],
)
def test_marker_families_read_their_calls(fmt_name, text):
    result = same_however_chunked(fmt_name, text)
    assert calls(result) == [("f", {"x": 1}), ("g", {})][: text.count('"name"')]
    assert result.content is None


@pytest.mark.parametrize(
    ("fmt_name", "before", "call", "after"),
    [
        ("granite", "Checking.\n", '<|tool_call|>[{"name": "f", "arguments": {}}]', "\nDone."),
        ("granite-20b-fc", "Sure. ", '<function_call> {"name": "f", "arguments": {}}', " ok"),
        (
            "internlm",
            "One moment. ",
            '<|action_start|><|plugin|>\n{"name": "f", "parameters": {}}<|action_end|>',
            " ok",
        ),
    ],
)
def test_text_around_marked_calls_is_content(fmt_name, before, call, after):
    result = same_however_chunked(fmt_name, before + call + after)
    assert calls(result) == [("f", {})]
    assert result.content == before + after


# ---- bad output ---------------------------------------------------------------------------
BAD = {
    "mistral": [
        "[TOOL_CALLS]",
        "[TOOL_CALLS] not json",
        '[TOOL_CALLS][{"name": "f", "arguments": {"x": tru}}]',
        '[TOOL_CALLS][{"name": "nope", "arguments": {}}]',
        '[TOOL_CALLS]f[ARGS]{"x": 1',
        "[TOOL_CALLS]f[ARGS][1]",
        '[TOOL_CALLS][{"name": "f", "arguments": "not an object"}]',
        "[TOOL_CALLS] 42",
    ],
    "llama3_json": ['{"name": 5, "parameters": {}}', '<|python_tag|>brave_search.call(query="x")'],
    "granite": [
        "<|tool_call|>",
        '<|tool_call|>{"name": "f"}',
        '<tool_call>[{"name": "f", "arguments": 1}]',
    ],
    "granite-20b-fc": ['<function_call> {"name": "f", "arguments": {', "<function_call> [1]"],
    "internlm": [
        '<|action_start|><|plugin|>\n{"name": "f", "parameters": {',
        "<|action_start|><|interpreter|>\nprint(1)<|action_end|>",
    ],
}


@pytest.mark.parametrize(("fmt_name", "text"), [(f, t) for f, texts in BAD.items() for t in texts])
def test_bad_output_never_raises_and_comes_back_as_content(fmt_name, text):
    result = same_however_chunked(fmt_name, text)
    assert result.tool_calls == []
    assert result.content == text.strip()


# ---- grammar ------------------------------------------------------------------------------
SPECS = (ToolSpec("f", {"type": "object", "properties": {"x": {"type": "integer"}}}),)


@pytest.fixture(scope="module")
def lltok(demo_model):
    return llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(demo_model))


def accepts(lltok, grammar: str, text: str) -> bool:
    m = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0)
    return m.consume_tokens(lltok.greedy_tokenize(text)) and m.is_accepting()


def test_llama3_grammar_keeps_calls_at_the_start(lltok):
    fmt = get_format("llama3_json")
    auto = fmt.grammar(ConstraintSpec(tools=SPECS, mode="auto"))
    call = '{"name": "f", "parameters": {"x": 1}}'
    assert accepts(lltok, auto, call)
    assert accepts(lltok, auto, "A set looks like {1, 2}.")  # braces later are just text
    assert get_format("llama3_json").parse("Sure: " + call, TOOLS).tool_calls == []  # text
    assert not accepts(lltok, auto, ' {"answer": 1}')  # what opens with `{` is a call
    none = fmt.grammar(ConstraintSpec(tools=SPECS, mode="none"))
    assert not accepts(lltok, none, call) and accepts(lltok, none, "no calls {here}")


@pytest.mark.parametrize(
    ("fmt_name", "other_spelling"),
    [
        ("granite", '<tool_call>[{"name": "f", "arguments": {"x": 1}}]'),
        ("llama3_json", '<|python_tag|>{"name": "f", "parameters": {"x": 1}}'),
        ("mistral", 'ok [TOOL_CALLS]f[ARGS]{"x": 1}'),
    ],
)
def test_spellings_the_parser_reads_are_not_free_text(fmt_name, other_spelling, lltok):
    """Free text never holds a call the parser would read but the grammar did not check."""
    fmt = get_format(fmt_name)
    for mode in ("auto", "none"):
        grammar = fmt.grammar(ConstraintSpec(tools=SPECS, mode=mode))
        assert not accepts(lltok, grammar, other_spelling), mode


# ---- marker soup --------------------------------------------------------------------------
SOUP = {
    "mistral": [
        "[TOOL_CALLS]",
        "[ARGS]",
        "[",
        "]",
        "{",
        "}",
        '"name": ',
        '"f"',
        ", ",
        "f",
        " ",
        '"',
    ],
    "llama3_json": [
        "{",
        "}",
        '"name": ',
        '"f"',
        "; ",
        '"parameters": ',
        "<|python_tag|>",
        " ",
        "x",
    ],
    "granite": ["<|tool_call|>", "<tool_call>", "[", "]", '{"name": "f", "arguments": {}}', ", "],
    "granite-20b-fc": ["<function_call>", " ", '{"name": "f", "arguments": {}}', "\n", "x", "{"],
    "internlm": ["<|action_start|>", "<|plugin|>", "\n", '{"name": "f", "parameters": {}}', "{"],
}


@pytest.mark.parametrize("fmt_name", SOUP)
def test_random_marker_soup_never_raises_and_reads_the_same_however_chunked(fmt_name):
    rng = random.Random(fmt_name)
    for _ in range(200):
        text = "".join(rng.choice(SOUP[fmt_name]) for _ in range(rng.randint(1, 12)))
        whole = read(fmt_name, text)
        chars = read(fmt_name, text, [1] * len(text))
        assert (whole.content, calls(whole)) == (chars.content, calls(chars)), text
        assert all(isinstance(args, dict) for _, args in calls(whole))
