"""Fixtures the format tests share."""

from __future__ import annotations

import llguidance
import llguidance.hf
import pytest
from transformers import AutoTokenizer


@pytest.fixture(scope="module")
def accepts(demo_model):
    """accepts(grammar, text): the grammar takes the text, tokenized greedily byte by byte
    (every marker spelled out: the strictest path through it)."""
    tok = llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(demo_model))

    def run(grammar: str, text: str) -> bool:
        m = llguidance.LLMatcher(tok, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0)
        return m.consume_tokens(tok.greedy_tokenize(text)) and m.is_accepting()

    return run
