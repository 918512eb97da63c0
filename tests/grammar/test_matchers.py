"""Caches of the grammar path: what they reuse is exactly what a fresh build would give."""

from __future__ import annotations

import llguidance
import llguidance.hf
import pytest

from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.constraint import ARGUMENTS
from strictcall.grammar.forced import forced_tokens
from strictcall.grammar.matchers import InvalidGrammar, LarkMemo, MatcherCache
from strictcall.grammar.schema import check_tool_parameters

SCHEMA = {"type": "object", "properties": {"unit": {"enum": ["celsius", "fahrenheit"]}}}


def _spec(parameters: dict, mode: str = "required", special=None) -> ConstraintSpec:
    return ConstraintSpec(
        tools=(ToolSpec("f", parameters),), mode=mode, special_tokens=special or {}
    )


def test_the_lark_memo_reuses_a_grammar_only_for_the_same_constraint():
    memo, fmt, built = LarkMemo(), get_format("hermes"), []

    def lark(spec):
        return memo.lark(fmt, spec, lambda: built.append(spec) or fmt.grammar(spec))

    shared = check_tool_parameters(SCHEMA)
    first = lark(_spec(shared))
    assert lark(_spec(check_tool_parameters(dict(SCHEMA)))) is first  # same text: same object
    assert len(built) == 1
    assert lark(_spec(shared, mode="auto")) != first  # another mode
    other = {**shared, "properties": {"unit": {"enum": ["kelvin"]}}}
    assert "kelvin" in lark(_spec(other))  # another schema object is never taken for it
    assert lark(_spec(shared)) is first
    memo.lark(get_format("llama3_json"), _spec(shared), lambda: built.append(0) or "x")
    assert len(built) == 4  # another format object: built again


def test_copies_are_independent_and_warm_copies_mask_like_a_fresh_compile(tok, lltok):
    spec = _spec(check_tool_parameters(SCHEMA), special=tok.special_tokens)
    # llama3_json under `required` opens with forced text (Hermes may open three ways)
    grammar = get_format("llama3_json").grammar(spec)
    cache = MatcherCache(lltok)
    fresh = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar))
    copies = [cache.matcher(grammar) for _ in range(3)]  # cold, then warm (or warmed here)
    for m in copies:
        assert m.compute_bitmask() == fresh.compute_bitmask()
    forced = forced_tokens(copies[0])
    assert forced and copies[0].consume_tokens(forced)  # advancing one copy...
    assert copies[1].compute_bitmask() == fresh.compute_bitmask()  # ...leaves the others
    assert cache.matcher(grammar).compute_bitmask() == fresh.compute_bitmask()


def test_the_first_requests_own_mask_warms_the_next_copies(tok, lltok):
    spec = _spec(check_tool_parameters(SCHEMA), mode="auto", special=tok.special_tokens)
    grammar = get_format("hermes").grammar(spec)
    cache = MatcherCache(lltok)
    fresh = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar))
    first = cache.matcher(grammar)
    assert not cache.is_warm(grammar)  # nothing masks behind the request's back
    early = cache.matcher(grammar)  # a second request before the first one's mask: cold
    mask = first.compute_bitmask()
    cache.keep_warm(grammar, first)
    assert cache.is_warm(grammar)
    text = lltok.greedy_tokenize("Hello")
    assert first.consume_tokens(text)  # the request goes on; what was kept does not move
    for m in (cache.matcher(grammar), early, cache.matcher(grammar)):
        assert m.compute_bitmask() == mask == fresh.compute_bitmask()
    again = cache.matcher(grammar)
    assert again.consume_tokens(text) and again.compute_bitmask() == first.compute_bitmask()


def test_a_matcher_in_error_is_not_kept_warm(lltok):
    cache = MatcherCache(lltok)
    grammar = 'start: "a"\n'
    broken = cache.matcher(grammar)
    broken.compute_bitmask()
    assert not broken.consume_token(lltok.greedy_tokenize("b")[0]) and broken.is_error()
    cache.keep_warm(grammar, broken)
    assert not cache.is_warm(grammar)
    assert not cache.matcher(grammar).is_error()


def test_a_grammar_llguidance_refuses_is_named(lltok):
    with pytest.raises(InvalidGrammar):
        MatcherCache(lltok).matcher("start: undefined_rule\n")


def _accepts(lltok, grammar: str, text: str) -> bool:
    matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar))
    return matcher.consume_tokens(lltok.greedy_tokenize(text)) and matcher.is_accepting()


@pytest.mark.parametrize("name", ["hermes", "qwen3_coder", "pythonic"])
def test_a_new_tool_set_of_known_tools_reuses_their_argument_rules(lltok, name, monkeypatch):
    fmt = get_format(name)
    city = check_tool_parameters(
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    )
    unit = check_tool_parameters(SCHEMA)
    ARGUMENTS.clear()
    calls = []
    body = type(fmt.syntax.body)
    real = body.arguments_lark

    def counted(self, rule, schema, special_tokens):
        calls.append(rule)
        return real(self, rule, schema, special_tokens)

    monkeypatch.setattr(body, "arguments_lark", counted)
    fmt.grammar(ConstraintSpec(tools=(ToolSpec("a", city), ToolSpec("b", unit))))
    assert len(calls) == 2
    # another set: one tool seen before, and the same schema under a second name
    spec = ConstraintSpec(
        tools=(ToolSpec("b", unit), ToolSpec("c", city), ToolSpec("d", city)), mode="required"
    )
    grammar = fmt.grammar(spec)
    assert len(calls) == 2  # nothing rebuilt
    call = {
        "hermes": '<tool_call>\n{{"name": "{}", "arguments": {{"city": "Paris"}}}}\n</tool_call>',
        "qwen3_coder": "<tool_call>\n<function={}>\n<parameter=city>\nParis\n</parameter>\n"
        "</function>\n</tool_call>",
        "pythonic": '[{}(city="Paris")]',
    }[name]
    assert _accepts(lltok, grammar, call.format("c")) and _accepts(lltok, grammar, call.format("d"))
    assert not _accepts(lltok, grammar, call.format("a"))  # not in this set
