"""What every declared format must satisfy: its parser reads back what it writes, and its
grammar accepts exactly that (one declaration, so grammar and parser cannot drift apart)."""

from __future__ import annotations

import json
from dataclasses import replace

import llguidance
import llguidance.hf
import pytest
from transformers import AutoTokenizer

from strictcall.chat.probe import probe
from strictcall.formats import ConstraintSpec, ToolSpec, format_names, get_format
from strictcall.formats.derive import derive_format
from strictcall.grammar.schema import normalize_parameters
from tests.api.toolsets import TOOLS
from tests.conftest import DATA

CALLS = [
    ("get_weather", {"city": "Paris", "unit": "celsius"}),
    ("book.flight", {"from": "CDG", "to": "JFK", "passengers": [{"name": "Ann", "age": 30}]}),
    ("get-time", {}),
]
SPECS = tuple(
    ToolSpec(t["function"]["name"], normalize_parameters(t["function"].get("parameters")))
    for t in TOOLS
)


def _renderable(name: str) -> bool:
    try:
        get_format(name).render_calls(CALLS[:1])
    except NotImplementedError:
        return False
    return True


FORMATS = [n for n in format_names() if _renderable(n)]


def _writings() -> dict[str, object]:
    """Every syntax a format reads, each in turn as the one it writes (a family with several
    generations writes the one its model has; the parser must read back every one)."""
    out = {}
    for name in FORMATS:
        fmt = get_format(name)
        out[name] = fmt  # formats with a shape of their own have no syntaxes to vary
        for i, syntax in enumerate(fmt.syntaxes):
            others = tuple(s for s in fmt.syntaxes if s != syntax)
            out[name if i == 0 else f"{name}~{i}"] = replace(fmt, syntax=syntax, variants=others)
    return out


# Templates no declaration reads: the format derived from each one's rendering must satisfy
# the same (formats/derive.py builds an ordinary declaration).
DERIVED_FROM = (
    "Apertus-8B-Instruct.jinja",
    "GigaChat3-10B-A1.8B.jinja",
    "MiniMax-M1.jinja",
    "openbmb-MiniCPM5-1B.jinja",
    "tencent-Hy3.jinja",
)


def _derived() -> dict[str, object]:
    out = {}
    for file in DERIVED_FROM:
        fmt = derive_format(probe((DATA / "templates" / file).read_text()))
        assert fmt is not None, file
        out[f"derived:{file.removesuffix('.jinja')}"] = fmt
    return out


WRITINGS = {**_writings(), **_derived()}


@pytest.mark.parametrize("name", list(WRITINGS))
@pytest.mark.parametrize("count", [1, 3])
def test_parse_reads_back_rendered_calls(name, count):
    fmt = WRITINGS[name]
    if count > 1 and fmt.syntax is not None and not fmt.syntax.repeats:
        count = 1  # a syntax that holds one call (a bare JSON body opening the answer)
    text = fmt.render_calls(CALLS[:count])
    result = fmt.parse(text, TOOLS)
    assert [(c.name, json.loads(c.arguments)) for c in result.tool_calls] == CALLS[:count]
    assert not (result.content or "").strip()


@pytest.fixture(scope="module")
def lltok(demo_model):
    return llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(demo_model))


def _accepts(lltok, grammar: str, text: str) -> bool:
    matcher = llguidance.LLMatcher(
        lltok, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0
    )
    # greedy byte-level tokens: every marker spelled out, the strictest path through the grammar
    return matcher.consume_tokens(lltok.greedy_tokenize(text)) and matcher.is_accepting()


@pytest.mark.parametrize("name", list(WRITINGS))
def test_grammar_accepts_what_the_parser_reads(name, lltok):
    fmt = WRITINGS[name]
    one, many = fmt.render_calls(CALLS[:1]), fmt.render_calls(CALLS)
    grammar = {
        mode: fmt.grammar(ConstraintSpec(tools=SPECS, mode=mode, named="get_weather"))
        for mode in ("auto", "required", "named", "none")
    }
    single = fmt.grammar(ConstraintSpec(tools=SPECS, mode="required", parallel=False))
    repeats = fmt.syntax is None or fmt.syntax.repeats
    assert _accepts(lltok, grammar["auto"], one)
    assert _accepts(lltok, grammar["auto"], many) == repeats
    assert _accepts(lltok, grammar["required"], many) == repeats
    assert _accepts(lltok, grammar["named"], one)
    assert not _accepts(lltok, grammar["named"], many)
    assert not _accepts(lltok, grammar["none"], one)
    assert _accepts(lltok, single, one) and not _accepts(lltok, single, many)
    words = fmt.render_answer("just words")
    assert _accepts(lltok, grammar["none"], words) and not _accepts(
        lltok, grammar["required"], words
    )
