"""Gemma 4 (gemma4): reading its literal arguments as JSON, streamed, and the grammar built
from each tool's schema. Parse cases from vLLM's tests/tool_parsers/test_gemma4_tool_parser.py
and test_gemma4_regex_and_bare_calls.py; where vLLM keeps what it can of a call that is not
complete, a call here is complete and valid or it is content (docs/conformance.md)."""

from __future__ import annotations

import json
import random
import time

import llguidance
import llguidance.hf
import pytest
from transformers import AutoTokenizer

from strictcall.chat.render import render_text, template_has_reasoning
from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.types import assemble
from strictcall.grammar.schema import SchemaError, normalize_parameters
from tests.conftest import DATA
from tests.formats.chunks import feed_by_char, feed_in_pieces, random_pieces

GEMMA4 = get_format("gemma4")
Q = '<|"|>'
SPECIALS = [Q, "<|tool_call>", "<tool_call|>", "<|channel>", "<channel|>", "<turn|>"]


def calls(result) -> list[tuple[str, dict]]:
    return [(c.name, json.loads(c.arguments)) for c in result.tool_calls]


def call(body: str) -> str:
    return f"<|tool_call>call:{body}<tool_call|>"


END = "<|tool_response>"  # what the template writes after the calls, and so the grammar


def args_of(body: str) -> dict:
    result = GEMMA4.parse(call(f"f{body}"))
    assert not result.incomplete, body
    ((_name, args),) = calls(result)
    return args


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("{}", {}),
        ("{ }", {}),
        ('{location:<|"|>Paris<|"|>}', {"location": "Paris"}),
        ('{location:<|"|>Paris, France<|"|>}', {"location": "Paris, France"}),
        (
            '{location:<|"|>San Francisco<|"|>,unit:<|"|>celsius<|"|>}',
            {"location": "San Francisco", "unit": "celsius"},
        ),
        ("{count:42}", {"count": 42}),
        ("{score:3.14}", {"score": 3.14}),
        ("{flag:true}", {"flag": True}),
        ("{flag:false}", {"flag": False}),
        ("{param:null}", {"param": None}),
        ("{param:None,a:True,b:False}", {"param": None, "a": True, "b": False}),  # Jinja's
        (
            '{name:<|"|>test<|"|>,count:42,active:true,score:3.14}',
            {"name": "test", "count": 42, "active": True, "score": 3.14},
        ),
        ('{nested:{inner:<|"|>value<|"|>}}', {"nested": {"inner": "value"}}),
        ('{record_map:{<|"|>3<|"|>:<|"|>new text<|"|>}}', {"record_map": {"3": "new text"}}),
        (
            '{outer:{inner:{<|"|>3<|"|>:<|"|>new text<|"|>}}}',
            {"outer": {"inner": {"3": "new text"}}},
        ),
        ('{items:[<|"|>a<|"|>,<|"|>b<|"|>]}', {"items": ["a", "b"]}),
        ("{items:[42,true,3.14]}", {"items": [42, True, 3.14]}),
        ('{x:[[<|"|>a]b<|"|>,<|"|>c<|"|>],<|"|>tail<|"|>]}', {"x": [["a]b", "c"], "tail"]}),
        ("{e:[],o:{}}", {"e": [], "o": {}}),
        ("{left:108.,right:22.8}", {"left": 108.0, "right": 22.8}),
        ("{n:-1.5e3}", {"n": -1500.0}),
        ('{ a : <|"|>x<|"|> , b : [ 1 , 2 ] , }', {"a": "x", "b": [1, 2]}),  # layout, comma
        # strings are raw: quotes, backslashes, newlines and markers are text
        (
            '{s:<|"|>say "hi" \\ <tool_call|> {x:1}\n<|"|>}',
            {"s": 'say "hi" \\ <tool_call|> {x:1}\n'},
        ),
        ('{s:<|"|>café 😀<|"|>}', {"s": "café 😀"}),
        ('{s:<|"|><|"|>}', {"s": ""}),
    ],
)
def test_literal_arguments_become_json(body, value):
    assert args_of(body) == value


def test_calls_text_before_and_several_calls():
    text = (
        "Let me check the weather for you. "
        + call('get_weather{location:<|"|>London<|"|>}')
        + call('get_time{location:<|"|>London<|"|>}')
    )
    result = GEMMA4.parse(text)
    assert result.content == "Let me check the weather for you. "  # text as written
    assert calls(result) == [
        ("get_weather", {"location": "London"}),
        ("get_time", {"location": "London"}),
    ]
    # vLLM's sequential calls have a newline between them
    two = call('read_file{path:<|"|>/work/Makefile<|"|>}') + "\n" + call("bash{}")
    assert [n for n, _ in calls(GEMMA4.parse(two))] == ["read_file", "bash"]


def test_the_template_s_end_of_the_calls_is_read_not_returned():
    """The template writes <|tool_response> after the calls: the grammar writes it too; the
    parser reads it, or the output may stop before it (it ends the turn)."""
    text = call("f{a:1}") + call("g{}")
    for ending in ("<|tool_response>", " <|tool_response>", ""):
        result = GEMMA4.parse(text + ending)
        assert calls(result) == [("f", {"a": 1}), ("g", {})]
        assert not result.content


@pytest.mark.parametrize("name", ["get-weather", "weather.get", "get_status"])
def test_names_with_hyphens_and_dots(name):
    assert calls(GEMMA4.parse(call(name + "{}"))) == [(name, {})]


def test_no_calls_is_content():
    text = "Hello, how can I help you today?"
    result = GEMMA4.parse(text)
    assert result.content == text and not result.tool_calls


def test_a_call_closed_by_the_turn_end_or_not_closed_is_read():
    """vLLM: Gemma 4 sometimes ends the call with <turn|>, which ends its turn: the output
    stops after a complete body."""
    result = GEMMA4.parse('<|tool_call>call:gdb{args:<|"|>-batch -ex run /tmp/poc<|"|>}')
    assert calls(result) == [("gdb", {"args": "-batch -ex run /tmp/poc"})]
    assert not result.content


def test_a_bare_call_after_the_thought_channel_is_read():
    text = '<|channel>thought\nI need to read it.\n<channel|>call:bash{command:<|"|>cat /x<|"|>}'
    result = GEMMA4.parse(text)
    assert result.reasoning == "I need to read it."
    assert calls(result) == [("bash", {"command": "cat /x"})]
    assert not result.content


def test_a_bare_call_later_in_the_answer_is_content():
    text = 'some prose\ncall:bash{command:<|"|>make -j8<|"|>}'
    result = GEMMA4.parse(text)
    assert not result.tool_calls and result.content == text


@pytest.mark.parametrize(
    "text",
    [
        '<|tool_call>call:get_weather{location:<|"|>London',  # vLLM: not complete
        '<|tool_call>call:f{key:<|"|>unterminated',  # vLLM keeps "unterminated"
        "<|tool_call>call:f{key:}",  # vLLM reads ""
        "<|tool_call>call:f{key:,b:1}",
        "<|tool_call>call:f{:[t:[]",  # vLLM: must not hang
        "<|tool_call>call:f{a:1 2}",
        "<|tool_call>call:f{a:inf}",
        "<|tool_call>call:f{a:01}",
        "<|tool_call>call:f[1]",
        "<|tool_call>call:f{a:{b:1}",
        "<|tool_call>call:f{a:[1}]}",
        '<|tool_call>:call:bash{command:<|"|>pytest<|"|>}',  # vLLM reads a stray colon
    ],
)
def test_what_is_not_a_complete_call_is_content(text):
    result = GEMMA4.parse(text)
    assert not result.tool_calls
    assert result.content == text


def test_an_unknown_tool_is_content():
    tools = [{"type": "function", "function": {"name": "known", "parameters": {}}}]
    text = call("other{}")
    result = GEMMA4.parse(text, tools)
    assert not result.tool_calls and result.content == text


STREAMED = call(
    'write_file{path:<|"|>index.html<|"|>,content:<|"|><!DOCTYPE html>\n<html lang="zh-CN">'
    '\n<|"|>,n:[1,{deep:[true,null]}],replace_all:false}'
) + call("get_status{}")


def test_chunking_never_matters():
    expected = calls(GEMMA4.parse(STREAMED))
    assert expected[0][1]["content"] == '<!DOCTYPE html>\n<html lang="zh-CN">\n'
    assert expected[1] == ("get_status", {})
    rng = random.Random(4)
    for _ in range(200):
        pieces = random_pieces(STREAMED, rng)
        got = assemble(feed_in_pieces(GEMMA4.stream(), STREAMED, pieces))
        assert calls(got) == expected
        assert not got.content


def test_arguments_stream_as_they_come_and_hold_back_only_a_cut_delimiter():
    parser = GEMMA4.stream()
    out = parser.feed("<|tool_call>call:todowrite{")
    out += parser.feed('content:<|"|>Buy milk<|')
    streamed = "".join(d.arguments or "" for d in out)
    assert streamed == '{"content": "Buy milk'  # the string streams; `<|` is held
    out = parser.feed('"|>}<tool_call|>') + parser.close()
    streamed += "".join(d.arguments or "" for d in out)
    assert json.loads(streamed) == {"content": "Buy milk"}
    assert "<|" not in streamed


@pytest.mark.parametrize(
    "pieces",
    [
        ["call:search{input:{all:tru", "e}}"],  # vLLM: a boolean cut in two
        ["call:set{flag:fals", "e}"],
        ["call:set{count:4", "2}"],
        ["call:Edit{replace_all:", "false}"],
    ],
)
def test_scalars_cut_in_pieces_are_written_once(pieces):
    parser = GEMMA4.stream()
    deltas = parser.feed("<|tool_call>")
    for piece in pieces:
        deltas += parser.feed(piece)
    deltas += parser.feed("<tool_call|>") + parser.close()
    args = "".join(d.arguments or "" for d in deltas)
    assert json.loads(args) == calls(assemble(deltas))[0][1]
    assert args.count(":") == len(json.loads(args)) + args.count("{") - 1


def test_text_after_a_call_is_content_once():
    parser = GEMMA4.stream()
    deltas = parser.feed(call('get_weather{location:<|"|>Paris<|"|>}') + "<")
    deltas += parser.feed("div>") + parser.close()
    assert "".join(d.content or "" for d in deltas) == "<div>"


def test_a_long_call_is_read_in_linear_time_holding_back_little():
    text = call("f{a:[" + '<|"|>x<|"|>,1,{k:true},' * 20000 + "null]}")
    start = time.perf_counter()
    result = GEMMA4.parse(text)
    assert time.perf_counter() - start < 5
    assert len(calls(result)[0][1]["a"]) == 60001
    deltas, held = feed_by_char(GEMMA4.stream(), call('f{s:<|"|>' + "y" * 5000 + '<|"|>}'))
    assert held <= len("<tool_call|>")
    assert calls(assemble(deltas))[0][1]["s"] == "y" * 5000


def test_rendering_reads_back():
    value = {
        "s": 'a "b" \\ c\nd',
        "n": -2.5,
        "i": 7,
        "t": True,
        "z": None,
        "l": [1, "x", [], {}],
        "o": {"3": "k", "a b": {"deep": False}},
    }
    text = GEMMA4.render_calls([("f", value), ("g", {})])
    assert text.startswith('<|tool_call>call:f{s:<|"|>a "b"')
    assert '{<|"|>3<|"|>:<|"|>k<|"|>,<|"|>a b<|"|>:{deep:false}}' in text
    assert calls(GEMMA4.parse(text)) == [("f", value), ("g", {})]


# ---- the grammar --------------------------------------------------------------------------
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 4},
        "n": {"type": "integer", "minimum": 0, "maximum": 9},
        "mode": {"enum": ["a", "b"]},
        "tags": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]+$"}},
        "opt": {"type": ["boolean", "null"]},
        "nested": {
            "type": "object",
            "properties": {"x": {"type": "number"}, "y": {"const": "k"}},
            "required": ["y"],
        },
    },
    "required": ["name", "n"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module", params=["spelled", "special"])
def accepts(request, demo_model):
    """Whether the grammar takes a text, with the markers spelled out or (as Gemma 4's
    tokenizer has them) each one special token."""
    hf = AutoTokenizer.from_pretrained(demo_model)
    specials: dict[str, int] = {}
    if request.param == "special":
        hf.add_special_tokens({"additional_special_tokens": SPECIALS})
        specials = {t: hf.convert_tokens_to_ids(t) for t in SPECIALS}
    tok = llguidance.hf.from_tokenizer(hf)

    def check(schema, text, mode="required"):
        spec = ConstraintSpec(
            tools=(ToolSpec("f", normalize_parameters(schema)),),
            mode=mode,
            special_tokens=specials,
        )
        grammar = llguidance.LLMatcher.grammar_from_lark(GEMMA4.grammar(spec))
        assert not llguidance.LLMatcher.validate_grammar(grammar)
        matcher = llguidance.LLMatcher(tok, grammar, log_level=0)
        ids = hf.encode(text, add_special_tokens=False)
        return matcher.consume_tokens(ids) and matcher.is_accepting()

    return check


@pytest.mark.parametrize(
    "args",
    [
        '{name:<|"|>ab<|"|>,n:3}',
        '{name:<|"|><|"|>,n:3,mode:<|"|>b<|"|>,tags:[<|"|>AB<|"|>,<|"|>CD<|"|>],opt:null}',
        '{name:<|"|>a "b<|"|>,n:9,opt:true,nested:{x:1.5,y:<|"|>k<|"|>}}',
        '{name:<|"|>a\nb<|"|>,n:0,nested:{y:<|"|>k<|"|>}}',
    ],
)
def test_grammar_accepts_valid_arguments(accepts, args):
    text = call("f" + args) + END
    assert accepts(SCHEMA, text)
    assert calls(GEMMA4.parse(text))  # and the parser reads what the grammar writes


@pytest.mark.parametrize(
    "args",
    [
        "{n:3}",  # a required argument missing
        '{name:<|"|>ab<|"|>,n:10}',  # above the maximum
        '{name:<|"|>toolong<|"|>,n:3}',  # longer than maxLength
        '{n:3,name:<|"|>ab<|"|>}',  # the schema's order
        '{name:<|"|>ab<|"|>,n:3,extra:1}',  # not an argument
        '{name:<|"|>ab<|"|>,n:3,mode:<|"|>c<|"|>}',  # not in the enum
        '{name:<|"|>ab<|"|>,n:3,tags:[<|"|>ab<|"|>]}',  # pattern
        '{name:<|"|>ab<|"|>,n:3,opt:True}',  # Jinja's spelling: the grammar writes JSON's
        '{name:<|"|>ab<|"|>,n:3,nested:{x:1}}',  # nested required key missing
        '{name:"ab",n:3}',  # strings are delimited
        '{name:<|"|>ab<|"|>, n:3}',  # no spaces
    ],
)
def test_grammar_refuses_invalid_arguments(accepts, args):
    assert not accepts(SCHEMA, call("f" + args) + END)


def test_grammar_modes_and_open_objects(accepts):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    schema["additionalProperties"] = True
    assert accepts(schema, call('f{a:1,b:<|"|>x<|"|>,c:[true,null,{<|"|>k<|"|>:2}]}') + END)
    assert not accepts(schema, call("f{a:1,a:2}") + END)
    assert not accepts(schema, call("f{a:1}"))  # the grammar writes the end of the calls
    assert accepts(schema, "no call here", mode="auto")
    assert accepts(schema, "text first " + call("f{a:1}") + call("f{}") + END, mode="auto")
    assert not accepts(schema, call("f{a:1}") + END, mode="none")
    assert not accepts(schema, "call:f{a:1}", mode="auto")  # the bare call is reserved
    assert not accepts(schema, 'a string <|"|> spelled out', mode="auto")


def test_alternatives_of_different_types_are_each_written_as_their_type(accepts):
    """anyOf, oneOf (over different types), type lists, enums, $ref: each value in Gemma's
    spelling for its type, and only those the schema admits."""
    schema = {
        "type": "object",
        "properties": {
            "port": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "host": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "pick": {"enum": ["a", 7, None]},
            "p": {"$ref": "#/$defs/point"},
        },
        "$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}}}},
    }
    good = ["port:8080", 'port:<|"|>8080<|"|>', "host:null", 'host:<|"|>8080<|"|>']
    good += ["pick:7", 'pick:<|"|>a<|"|>', "pick:null", "p:{x:1.5}", "p:{}"]
    for args in good:
        assert accepts(schema, call("f{" + args + "}") + END), args
    for args in ["host:8080", "pick:8", 'pick:<|"|>7<|"|>', "port:true", "p:{y:1}"]:
        assert not accepts(schema, call("f{" + args + "}") + END), args
    tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
    read = GEMMA4.parse(call('f{port:8080,host:<|"|>8080<|"|>}'), tools).tool_calls[0]
    assert json.loads(read.arguments) == {"port": 8080, "host": "8080"}


def test_keys_that_cannot_be_bare_are_delimited(accepts):
    """Found by the hostile-schema walk: an empty key, one with a space, one with DEL."""
    schema = {
        "type": "object",
        "properties": {
            "": {"type": "string"},
            "a b": {"type": "integer"},
            "\x7f": {"type": "null"},
        },
        "required": ["", "a b", "\x7f"],
    }
    args = '{<|"|><|"|>:<|"|>x<|"|>,<|"|>a b<|"|>:1,<|"|>\x7f<|"|>:null}'
    assert accepts(schema, call("f" + args) + END)
    assert not accepts(schema, call("f{a b:1}") + END)
    assert calls(GEMMA4.parse(call("f" + args))) == [("f", {"": "x", "a b": 1, "\x7f": None})]


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"properties": {"a": {"type": "string", "format": "email"}}}, "format"),
        ({"properties": {'a<|"|>': {"type": "string"}}}, "properties"),
        ({"properties": {"a": {"type": "object", "minProperties": 1}}}, "minProperties"),
        ({"anyOf": [{"properties": {"a": {}}}]}, "anyOf"),
    ],
)
def test_what_cannot_be_enforced_is_refused_by_name(schema, keyword):
    spec = ConstraintSpec(tools=(ToolSpec("f", {"type": "object", **schema}),), mode="required")
    with pytest.raises(SchemaError) as err:
        GEMMA4.grammar(spec)
    assert err.value.keyword == keyword


# ---- the template's prompt ----------------------------------------------------------------
def test_the_thought_channel_is_closed_in_the_prompt_unless_thinking_is_on():
    """With thinking off the prompt ends with an empty thought channel, closed: the answer
    follows. With `enable_thinking` the model opens the channel itself."""
    template = (DATA / "templates" / "google-gemma-4-31B-it.jinja").read_text()
    assert template_has_reasoning(template, GEMMA4.reasoning)
    user = [{"role": "user", "content": "Hi"}]
    off = render_text(template, user, None, {"bos_token": "<bos>"})
    assert off.endswith("<|turn>model\n<|channel>thought\n<channel|>")
    on = render_text(template, user, None, {"bos_token": "<bos>", "enable_thinking": True})
    assert on.endswith("<|turn>model\n") and "<|think|>" in on
    # what a thinking model writes after that prompt
    result = GEMMA4.parse("<|channel>thought\nLet me see.\n<channel|>" + call("f{}"))
    assert result.reasoning == "Let me see." and calls(result) == [("f", {})]
