"""Running several sequences through the model together.

`PaddedBatch` keeps one left-padded KV cache for all running sequences: a sequence is prefilled
alone, then merged in; finished rows are dropped and common padding trimmed. Each decode step is
one forward pass for the whole batch, so throughput grows with concurrency. The cache is only
re-laid when the batch changes, never per step.

Models whose caches are not plain per-layer key/value tensors (sliding windows, recurrent
state) use `SeparateCaches`: the same interface, one forward pass per sequence.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer


def _is_plain(cache: DynamicCache) -> bool:
    return all(type(layer) is DynamicLayer for layer in cache.layers)


class _Forward:
    def __init__(self, model: torch.nn.Module, device: torch.device):
        self.model = model
        self.device = device

    def prefill(self, prompt_ids: list[int]) -> tuple[DynamicCache, torch.Tensor]:
        """Run a prompt alone: its cache and the logits for the next token."""
        cache = DynamicCache(config=self.model.config)
        ids = torch.tensor([prompt_ids], device=self.device)
        out = self.model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
        return out.past_key_values, out.logits[0, -1].float()


class PaddedBatch(_Forward):
    def __init__(self, model: torch.nn.Module, device: torch.device):
        super().__init__(model, device)
        self.cache: DynamicCache | None = None
        self.mask: torch.Tensor | None = None  # [rows, cached length], 1 = real token
        self.positions: list[int] = []  # next position id per row
        self._width = 0  # tokens per row of the last step_ahead

    @staticmethod
    def supports(cache: DynamicCache) -> bool:
        return _is_plain(cache)

    def __len__(self) -> int:
        return len(self.positions)

    def add(self, cache: DynamicCache, length: int) -> None:
        """Merge a prefilled single-sequence cache as the last row."""
        new_mask = torch.ones(1, length, dtype=torch.long, device=self.device)
        if self.cache is None or self.mask is None:
            self.cache, self.mask = cache, new_mask
            self.positions = [length]
            return
        have = self.mask.shape[1]
        width = max(have, length)
        for old, new in zip(self.cache.layers, cache.layers, strict=True):
            old.keys = torch.cat([_pad_left(old.keys, width), _pad_left(new.keys, width)])
            old.values = torch.cat([_pad_left(old.values, width), _pad_left(new.values, width)])
        self.mask = torch.cat(
            [F.pad(self.mask, (width - have, 0)), F.pad(new_mask, (width - length, 0))]
        )
        self.positions.append(length)

    def keep(self, rows: list[int]) -> None:
        """Drop every row not in `rows` (in order) and trim padding no row needs."""
        if len(rows) == len(self.positions):
            return
        if not rows:
            self.cache, self.mask, self.positions = None, None, []
            return
        assert self.cache is not None and self.mask is not None
        index = torch.tensor(rows, device=self.device)
        mask = self.mask.index_select(0, index)
        start = int((mask.cumsum(1) == 0).sum(1).min().item())
        self.mask = mask[:, start:]
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(0, index)[:, :, start:]
            layer.values = layer.values.index_select(0, index)[:, :, start:]
        self.positions = [self.positions[i] for i in rows]

    def step(self, tokens: list[int]) -> torch.Tensor:
        """One decode step for every row: logits [rows, vocab]."""
        assert self.cache is not None and self.mask is not None
        rows = len(tokens)
        ones = torch.ones(rows, 1, dtype=torch.long, device=self.device)
        self.mask = torch.cat([self.mask, ones], dim=1)
        out = self.model(
            input_ids=torch.tensor(tokens, device=self.device).view(rows, 1),
            attention_mask=self.mask,
            position_ids=torch.tensor(self.positions, device=self.device).view(rows, 1),
            past_key_values=self.cache,
            use_cache=True,
        )
        self.positions = [p + 1 for p in self.positions]
        return out.logits[:, -1].float()

    def step_ahead(self, feeds: list[list[int]]) -> torch.Tensor:
        """Feed each row its tokens (the sampled one, then a grammar draft) in one forward pass:
        logits [rows, longest feed, vocab]. Short rows are padded on the right, masked out.

        Then `settle` says how many tokens of each feed were kept; the columns of the rest stay
        masked for good (explicit position ids make a masked column harmless).
        """
        assert self.cache is not None and self.mask is not None
        width = max(len(f) for f in feeds)
        ids = [f + [f[-1]] * (width - len(f)) for f in feeds]
        fed = torch.tensor([[1] * len(f) + [0] * (width - len(f)) for f in feeds])
        self.mask = torch.cat([self.mask, fed.to(self.device)], dim=1)
        positions = [[p + k for k in range(width)] for p in self.positions]
        out = self.model(
            input_ids=torch.tensor(ids, device=self.device),
            attention_mask=self.mask,
            position_ids=torch.tensor(positions, device=self.device),
            past_key_values=self.cache,
            use_cache=True,
        )
        self._width = width
        return out.logits.float()

    def settle(self, kept: list[int]) -> None:
        """After `step_ahead`: row i keeps the first kept[i] tokens it was fed."""
        assert self.mask is not None
        width = self._width
        for i, n in enumerate(kept):
            if n < width:
                self.mask[i, self.mask.shape[1] - width + n :] = 0
        self.positions = [p + n for p, n in zip(self.positions, kept, strict=True)]


class SeparateCaches(_Forward):
    """Fallback for caches that cannot be padded and merged: one forward per sequence."""

    def __init__(self, model: torch.nn.Module, device: torch.device):
        super().__init__(model, device)
        self.caches: list[DynamicCache] = []
        self.positions: list[int] = []

    def __len__(self) -> int:
        return len(self.caches)

    def add(self, cache: DynamicCache, length: int) -> None:
        self.caches.append(cache)
        self.positions.append(length)

    def keep(self, rows: list[int]) -> None:
        self.caches = [self.caches[i] for i in rows]
        self.positions = [self.positions[i] for i in rows]

    def step(self, tokens: list[int]) -> torch.Tensor:
        logits = []
        for i, (token, cache) in enumerate(zip(tokens, self.caches, strict=True)):
            out = self.model(
                input_ids=torch.tensor([[token]], device=self.device),
                position_ids=torch.tensor([[self.positions[i]]], device=self.device),
                past_key_values=cache,
                use_cache=True,
            )
            logits.append(out.logits[0, -1].float())
            self.positions[i] += 1
        return torch.stack(logits)


def _pad_left(t: torch.Tensor, width: int) -> torch.Tensor:
    missing = width - t.shape[-2]
    return F.pad(t, (0, 0, missing, 0)) if missing > 0 else t
