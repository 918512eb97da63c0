"""The engine's grammar commit: a token the mask allowed but the matcher refuses is replaced,
never consumed into an error (llguidance 1.9.1 lets marker tokens into forced text)."""

from __future__ import annotations

import llguidance
import llguidance.hf
import torch
from transformers import AutoTokenizer

from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.grammar.commit import commit, spelled_forced_token
from strictcall.grammar.schema import normalize_parameters


def _matcher_at_the_const(demo_model):
    hf = AutoTokenizer.from_pretrained(demo_model)
    lltok = llguidance.hf.from_tokenizer(hf)
    special = {t.content: i for i, t in hf.added_tokens_decoder.items()}
    schema = {"type": "object", "properties": {"a": {"const": "</tool_call>"}}, "required": ["a"]}
    spec = ConstraintSpec(
        tools=(ToolSpec("f", normalize_parameters(schema)),),
        mode="required",
        special_tokens=special,
    )
    grammar = get_format("hermes").grammar(spec)
    matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar))
    prefix = '\n{"name": "f", "arguments": {"a": "'
    assert matcher.consume_tokens([special["<tool_call>"], *lltok.greedy_tokenize(prefix)])
    return matcher, lltok, special


def test_a_refused_marker_token_is_replaced_by_the_spelled_text(demo_model):
    matcher, lltok, special = _matcher_at_the_const(demo_model)
    marker = special["</tool_call>"]
    mask = matcher.compute_bitmask()
    assert mask[marker // 8] >> (marker % 8) & 1  # the glitch: the marker token is allowed
    row = torch.full((lltok.vocab_size,), float("-inf"))
    row[marker] = 0.0  # and it is the only token the mask allows
    token, error = commit(matcher, lltok, row, marker, lambda r: int(torch.argmax(r)))
    assert error is None and token != marker
    written = lltok.decode_bytes([token]).decode()
    assert "</tool_call>".startswith(written) and not matcher.is_error()
    # the rest is forced: the value comes out spelled, then the call closes with the marker
    assert spelled_forced_token(matcher, lltok) is not None
    rest = lltok.greedy_tokenize("</tool_call>"[len(written) :] + '"}}\n')
    assert matcher.consume_tokens(rest)
    assert matcher.consume_token(marker) and matcher.is_accepting()


def test_an_end_token_the_grammar_names_is_consumed(demo_model):
    """gpt-oss's <|call|> both closes a call in the grammar and ends the turn: the matcher must
    take it where the grammar asks for it, although the grammar is not yet accepting there."""
    lltok = llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(demo_model))
    eos = lltok.eos_token
    grammar = llguidance.LLMatcher.grammar_from_lark(f'start: "ab" <[{eos}]> "c"')
    m = llguidance.LLMatcher(lltok, grammar, log_level=0)
    assert m.consume_tokens(lltok.greedy_tokenize("ab"))
    row = torch.zeros(lltok.vocab_size)
    token, error = commit(m, lltok, row, eos, lambda r: int(torch.argmax(r)))
    assert (token, error) == (eos, None)
    assert not m.is_error() and not m.is_accepting()
