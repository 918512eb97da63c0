"""Turning one row of logits into one token, the OpenAI way.

Order: logit_bias, penalties, grammar mask, (logprobs), temperature, top-k, top-p, min-p, draw.
The grammar mask comes last among the logit edits, so no bias or penalty can revive a token the
grammar forbids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from strictcall.engines.base import SamplingParams

_NEG_INF = float("-inf")


@dataclass
class RowSampler:
    """Sampling state of one sequence: its settings, generator and token counts."""

    params: SamplingParams
    vocab: int
    prompt_ids: list[int]
    generator: torch.Generator = field(init=False)
    counts: torch.Tensor | None = field(init=False, default=None)
    seen: torch.Tensor | None = field(init=False, default=None)
    bias_ids: torch.Tensor | None = field(init=False, default=None)
    bias_values: torch.Tensor | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.generator = torch.Generator()
        seed = self.params.seed
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        self.generator.manual_seed(seed)
        p = self.params
        if p.presence_penalty or p.frequency_penalty:
            self.counts = torch.zeros(self.vocab)
        if p.repetition_penalty != 1.0:
            self.seen = torch.zeros(self.vocab, dtype=torch.bool)
            ids = [i for i in self.prompt_ids if 0 <= i < self.vocab]
            if ids:
                self.seen[torch.tensor(ids)] = True
        if p.logit_bias:
            items = [(i, b) for i, b in p.logit_bias.items() if 0 <= i < self.vocab]
            if items:
                self.bias_ids = torch.tensor([i for i, _ in items])
                self.bias_values = torch.tensor([float(b) for _, b in items])

    def adjust(self, row: torch.Tensor) -> None:
        """Bias and penalties, in place."""
        if self.bias_ids is not None and self.bias_values is not None:
            row.index_add_(0, self.bias_ids, self.bias_values)
        if self.seen is not None:
            rp = self.params.repetition_penalty
            picked = row[self.seen]
            row[self.seen] = torch.where(picked > 0, picked / rp, picked * rp)
        if self.counts is not None:
            p = self.params
            row -= p.frequency_penalty * self.counts + p.presence_penalty * (self.counts > 0)

    def observe(self, token: int) -> None:
        if self.counts is not None and token < self.vocab:
            self.counts[token] += 1
        if self.seen is not None and token < self.vocab:
            self.seen[token] = True

    def draw(self, row: torch.Tensor) -> int:
        """Pick a token from already adjusted and masked logits."""
        p = self.params
        if p.temperature <= 1e-5:
            return int(torch.argmax(row).item())
        logits = row / p.temperature
        if 0 < p.top_k < logits.shape[0]:
            kth = torch.topk(logits, p.top_k).values[-1]
            logits = logits.masked_fill(logits < kth, _NEG_INF)
        probs = torch.softmax(logits, dim=-1)
        if p.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            cumulative = torch.cumsum(sorted_probs, dim=-1)
            drop = cumulative - sorted_probs > p.top_p
            sorted_probs[drop] = 0.0
            probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
        if p.min_p > 0.0:
            probs = probs.masked_fill(probs < p.min_p * probs.max(), 0.0)
        # Inverse-CDF draw: one cumsum and a binary search. torch.multinomial costs ~30x more
        # on a 150k vocabulary (bench/README.md). Masked tokens have probability exactly 0 and
        # can never be the first index whose cumulative mass exceeds the draw.
        cdf = torch.cumsum(probs, dim=-1)
        total = cdf[-1]
        if not torch.isfinite(total) or total <= 0:
            return int(torch.argmax(row).item())
        u = torch.rand(1, generator=self.generator, dtype=cdf.dtype) * total
        index = int(torch.searchsorted(cdf, u, right=True).item())
        return min(index, cdf.shape[0] - 1)


def bitmask_to_bool(bitmask: np.ndarray, vocab: int) -> torch.Tensor:
    """llguidance's packed int32 masks (one bit per token) as a [rows, vocab] bool tensor."""
    bits = np.unpackbits(bitmask.view(np.uint8), axis=-1, bitorder="little")
    return torch.from_numpy(bits[:, :vocab].astype(bool))


def top_logprobs(row: torch.Tensor, token: int, k: int) -> tuple[float, list[tuple[int, float]]]:
    """Log-probability of `token` and the `k` most likely tokens, from adjusted logits."""
    logp = torch.log_softmax(row, dim=-1)
    chosen = float(logp[token].item())
    if k <= 0:
        return chosen, []
    values, ids = torch.topk(logp, min(k, logp.shape[0]))
    return chosen, [(int(i), float(v)) for v, i in zip(values.tolist(), ids.tolist(), strict=True)]
