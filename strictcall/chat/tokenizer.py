"""The model's tokenizer and chat template, loaded the standard transformers way."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from transformers import AutoTokenizer, GenerationConfig, PreTrainedTokenizerBase

from strictcall.chat.shipped import read_template

log = logging.getLogger(__name__)


@dataclass
class ModelTokenizer:
    """A Hugging Face tokenizer plus what the rest of the server needs to know about it."""

    hf: PreTrainedTokenizerBase
    chat_template: str
    eos_ids: list[int]
    # every added token's text -> id: markers that are one token are written as that token
    special_tokens: dict[str, int] = field(default_factory=dict)
    # tokens flagged special (hidden from text unless a format uses them as markers)
    control_ids: frozenset[int] = frozenset()

    def encode(self, text: str) -> list[int]:
        return list(self.hf.encode(text, add_special_tokens=False))

    @property
    def vocab_size(self) -> int:
        return len(self.hf)


def load_tokenizer(
    model: str, chat_template: str | Path | None = None, trust_remote_code: bool = False
) -> ModelTokenizer:
    """Load from a local directory or a Hugging Face repo id.

    `chat_template` (a file path, the name of a template shipped with strictcall, or the
    template text) overrides the model's own.
    """
    hf = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
    template = read_template(chat_template) if chat_template else hf.chat_template
    if isinstance(template, dict):  # several named templates: the default one
        template = template.get("default") or next(iter(template.values()))
    if not template:
        raise ValueError(f"{model} has no chat template; pass one with --chat-template PATH")
    eos = _eos_ids(model, hf, trust_remote_code)
    special = {tok.content: int(i) for i, tok in hf.added_tokens_decoder.items()}
    control = frozenset(int(i) for i, tok in hf.added_tokens_decoder.items() if tok.special)
    control |= frozenset(int(i) for i in hf.all_special_ids)
    return ModelTokenizer(hf, template, eos, special, control)


def _eos_ids(model: str, hf: PreTrainedTokenizerBase, trust_remote_code: bool) -> list[int]:
    ids: list[int] = []
    if hf.eos_token_id is not None:
        ids.append(int(hf.eos_token_id))
    try:
        gen = GenerationConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
        extra = gen.eos_token_id
        if isinstance(extra, int):
            extra = [extra]
        ids.extend(int(i) for i in extra or [] if int(i) not in ids)
    except (OSError, ValueError):
        log.debug("no generation_config for %s", model)
    if not ids:
        raise ValueError(f"{model}: the tokenizer names no end-of-sequence token")
    return ids
