"""The random models the engine benchmarks run: built locally, cached under .cache/bench-models.

`demo` is the model `make serve` and the tests use (64-dim, 2 layers, a 1.6k vocabulary): its
forward pass is so cheap that anything per token looks expensive next to it. `large` is closer
to what a real model costs per token: 512-dim, 8 layers, and a vocabulary the size of Qwen's
(151,936 entries). The demo tokenizer's corpus only supports ~1.6k BPE merges, so `large`
widens it with synthetic merges (all pairs of printable characters, lowercase 3-grams and
4-grams, ` x`-style word starts): real vocabularies' size and mix of short and word-like
tokens, which is what the grammar's mask computation walks, while the chat template, special
tokens and their ids stay those of the demo model.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import MODELS
from strictcall.demo import QWEN25, build_tiny_model


@dataclass(frozen=True)
class ModelSpec:
    name: str
    hidden_size: int
    layers: int
    vocab: int | None  # None: the demo tokenizer's own (~1.6k); else widened to this size

    def describe(self) -> str:
        return f"{self.hidden_size}-dim, {self.layers} layers"


DEMO = ModelSpec("demo", 64, 2, None)
LARGE = ModelSpec("large", 512, 8, 151_936)
SPECS = {s.name: s for s in (DEMO, LARGE)}
_STAMP = "bench-model.json"
_BUILD = 2  # bump when the way models are built changes


def build(spec: ModelSpec) -> Path:
    """The model's directory, built on first use.

    Our own stamp decides whether to build: build_tiny_model's stamp compares a JSON-loaded
    list with the family's tuples, so it never matches and the model is rebuilt every call.
    """
    out = MODELS / spec.name
    stamp = out / _STAMP
    want = {**asdict(spec), "build": _BUILD}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return out
    stamp.unlink(missing_ok=True)
    base = MODELS / f"{spec.name}-base" if spec.vocab is not None else out
    build_tiny_model(base, QWEN25, hidden_size=spec.hidden_size, layers=spec.layers)
    if spec.vocab is not None:
        _widen(base, out, spec.vocab)
    stamp.write_text(json.dumps(want))
    return out


def _synthetic_tokens(known: set[str], count: int) -> list[str]:
    """Byte-level token spellings, each a known token plus one character (so mergeable)."""
    printable = [chr(c) for c in range(33, 127)] + ["Ġ", "Ċ"]  # Ġ: space, Ċ: newline
    lower = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    layers = [
        ["".join(p) for p in itertools.product(printable, repeat=2)],
        ["".join(p) for p in itertools.product(["Ġ", *lower], lower, lower)],
    ]
    fours = ["".join(p) for p in itertools.product(["Ġ", *lower], lower, lower, lower)]
    random.Random(0).shuffle(fours)
    layers.append(fours)
    out: list[str] = []
    for layer in layers:
        for token in layer:
            if len(out) == count:
                return out
            if token not in known:
                known.add(token)
                out.append(token)
    return out


def _widen(base: Path, out: Path, vocab: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(base, out)
    data = json.loads((base / "tokenizer.json").read_text())
    model_vocab: dict[str, int] = data["model"]["vocab"]
    merges = data["model"]["merges"]
    # tokenizers numbers added tokens after the model's own vocabulary: the new merges take
    # the ids from there, and the added markers move to the end (as in Qwen's vocabulary)
    extra = [t for t in data["added_tokens"] if t["content"] not in model_vocab]
    next_id = len(model_vocab)
    for token in _synthetic_tokens(set(model_vocab), vocab - next_id - len(extra)):
        model_vocab[token] = next_id
        pair = [token[:-1], token[-1]]
        merges.append(pair if merges and isinstance(merges[0], list) else " ".join(pair))
        next_id += 1
    for token in extra:
        token["id"] = next_id
        next_id += 1
    (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False))

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    torch.manual_seed(0)
    model.resize_token_embeddings(vocab, mean_resizing=False)
    model.save_pretrained(out)
