"""Embedding padding rows (ids at or beyond the tokenizer's size) are never sampled (issue 11).

The demo model's embedding table is padded to a multiple of 64, as real models' are. Biasing
every padding row by +100 would make one of them the choice if the engine sampled them; it
must not, and the text never shows one (it once leaked as `<[1658]>`).
"""

from __future__ import annotations

from transformers import AutoConfig, AutoTokenizer


def test_padding_rows_are_never_sampled(server, client, demo_model):
    size = len(AutoTokenizer.from_pretrained(demo_model))
    rows = AutoConfig.from_pretrained(demo_model).vocab_size
    assert rows > size, "the demo model has padding rows"
    bias = {str(i): 100 for i in range(size, rows)}
    r = client.completions.create(
        model=server.model, prompt="hello", max_tokens=12, logit_bias=bias, logprobs=1, seed=3
    )
    choice = r.choices[0]
    assert "<[" not in choice.text, choice.text
    assert r.usage.completion_tokens == 12 or choice.finish_reason == "stop"
    for token in choice.logprobs.tokens:
        assert "<[" not in token
