"""Tiny random-weight models in Hugging Face format, built locally.

`make serve` and the tests need a model without any download. A tiny model is built once: a
byte-level BPE tokenizer trained here on a generated corpus, with the family's special tokens
and its real chat template, and random weights. It is loaded exactly as a real model is
(`from_pretrained` on its directory). Its words are noise; its tool calls are still valid,
because the grammar, not the model, decides what a call may look like.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

BUILD_VERSION = 1
_WORDS = [
    "the",
    "weather",
    "city",
    "temperature",
    "unit",
    "celsius",
    "fahrenheit",
    "today",
    "tomorrow",
    "search",
    "query",
    "result",
    "find",
    "open",
    "page",
    "file",
    "name",
    "value",
    "number",
    "list",
    "item",
    "order",
    "user",
    "account",
    "price",
    "stock",
    "report",
    "time",
    "date",
    "location",
    "address",
    "email",
    "message",
    "send",
    "get",
    "set",
    "create",
    "update",
    "delete",
    "call",
    "tool",
    "function",
    "argument",
    "parameter",
    "answer",
    "question",
    "think",
    "because",
    "first",
    "then",
    "finally",
    "check",
    "please",
    "thanks",
    "sure",
    "here",
    "is",
    "are",
    "was",
    "will",
    "can",
    "should",
    "would",
    "could",
    "need",
    "want",
    "know",
    "see",
    "make",
]


@dataclass(frozen=True)
class TinyFamily:
    """What a tiny model of one family needs: template, special tokens, architecture."""

    name: str
    template: str  # a template file shipped with the package, or a path
    control_tokens: tuple[str, ...]  # flagged special (hidden from text by default)
    added_tokens: tuple[str, ...] = ()  # markers the family writes as single tokens
    eos: str = "<|im_end|>"
    # more end-of-sequence tokens, listed in generation_config.json (gpt-oss: <|call|>)
    more_eos: tuple[str, ...] = ()
    bos: str | None = None
    pad: str | None = None
    architecture: str = "qwen2"


QWEN25 = TinyFamily(
    name="qwen2.5",
    template="qwen2.5.jinja",
    control_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
    added_tokens=("<tool_call>", "</tool_call>"),
    eos="<|im_end|>",
    pad="<|endoftext|>",
)


def _template_text(name: str) -> str:
    path = Path(name)
    if path.exists():
        return path.read_text()
    return resources.files("strictcall.chat").joinpath("templates", name).read_text()


def _corpus(seed: int, template: str) -> list[str]:
    rng = random.Random(seed)
    lines = [template]
    for _ in range(3000):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 14)))
        lines.append(words.capitalize() + rng.choice([".", "?", "!", ":"]))
        key, value = rng.choice(_WORDS), rng.choice(_WORDS)
        num = rng.choice([str(rng.randint(0, 1000)), f"{rng.uniform(-100, 100):.2f}"])
        lines.append(json.dumps({"name": f"{key}_{value}", "arguments": {key: value, "n": num}}))
        lines.append(f'{{"{key}": [{num}, true, false, null], "{value}": {{"x": "{key}"}}}}')
    return lines


def build_tokenizer(family: TinyFamily, vocab_size: int = 2000, seed: int = 0):
    """A PreTrainedTokenizerFast with the family's special tokens and chat template."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    template = _template_text(family.template)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(family.control_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(seed, template), trainer)
    extra = [AddedToken(t, special=False, normalized=False) for t in family.added_tokens]
    if extra:
        tok.add_tokens(extra)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=family.eos,
        bos_token=family.bos,
        pad_token=family.pad or family.eos,
        model_max_length=8192,
    )
    hf.chat_template = template
    return hf


def build_tiny_model(
    out: str | Path,
    family: TinyFamily = QWEN25,
    *,
    seed: int = 0,
    vocab_size: int = 2000,
    hidden_size: int = 64,
    layers: int = 2,
) -> Path:
    """Build (or reuse, if already built with the same settings) a tiny model in `out`."""
    out = Path(out)
    stamp = {
        "version": BUILD_VERSION,
        "family": asdict(family),
        "seed": seed,
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "layers": layers,
    }
    stamp = json.loads(json.dumps(stamp))  # as it reads back from disk (tuples become lists)
    stamp_file = out / "strictcall-tiny.json"
    # compared as JSON (tuples come back as lists), else every call would rebuild the model
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == json.loads(json.dumps(stamp)):
        return out

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    tokenizer = build_tokenizer(family, vocab_size, seed)
    n_vocab = (len(tokenizer) + 63) // 64 * 64  # padded like real models' embedding tables
    config = AutoConfig.for_model(
        family.architecture,
        vocab_size=n_vocab,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    GenerationConfig(
        eos_token_id=[
            tokenizer.eos_token_id,
            *tokenizer.convert_tokens_to_ids(list(family.more_eos)),
        ],
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
    ).save_pretrained(tmp)
    (tmp / stamp_file.name).write_text(json.dumps(stamp, indent=2))
    # Another process may be building the same model: whoever renames first wins, and
    # nobody ever reads a half-written directory.
    if out.exists():
        shutil.rmtree(out, ignore_errors=True)
    try:
        tmp.rename(out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
