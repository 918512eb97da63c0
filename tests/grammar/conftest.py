"""The demo model's tokenizer, as the server loads it and as llguidance sees it."""

from __future__ import annotations

import llguidance
import llguidance.hf
import pytest

from strictcall.chat.tokenizer import load_tokenizer


@pytest.fixture(scope="session")
def tok(demo_model):
    return load_tokenizer(str(demo_model))


@pytest.fixture(scope="session")
def lltok(tok) -> llguidance.LLTokenizer:
    return llguidance.hf.from_tokenizer(tok.hf, eos_token=tok.eos_ids)
