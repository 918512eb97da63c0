"""Incremental detokenization: each token's exact bytes, decoded as UTF-8 as they complete.

The bytes come from the same token table the grammar engine uses, so the text the parser reads
is exactly the text the grammar constrained. Each token costs O(its length).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

import llguidance
import llguidance.hf

from strictcall.chat.tokenizer import ModelTokenizer


class Detokenizer:
    def __init__(self, token_bytes: Callable[[int], bytes], hidden: frozenset[int] = frozenset()):
        self._bytes = token_bytes
        self._hidden = hidden
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def push(self, token_id: int) -> str:
        if token_id in self._hidden:
            return ""
        return self._decoder.decode(self._bytes(token_id))

    def flush(self) -> str:
        return self._decoder.decode(b"", final=True)


class TokenTable:
    """The one decoder of a model, built once from the shared tokenizer: every id's exact bytes
    (the grammar engine's own table) and llguidance's tokenizer. Every engine turns its token
    ids into the parser's text through this, so the text is the text the grammar constrained.
    """

    def __init__(self, tokenizer: ModelTokenizer, n_vocab: int):
        self.tokenizer = tokenizer
        self.n_vocab = n_vocab  # output rows, padding included
        self.size = min(len(tokenizer.hf), n_vocab)  # ids >= size are padding rows
        self.lltok = llguidance.hf.from_tokenizer(
            tokenizer.hf, n_vocab=n_vocab, eos_token=tokenizer.eos_ids
        )
        self.token_bytes = [self._bytes_of(i) for i in range(n_vocab)]

    def detokenizer(self, hidden: frozenset[int] = frozenset()) -> Detokenizer:
        return Detokenizer(self.token_bytes.__getitem__, hidden)

    def text_of(self, token: int) -> str:
        return self.token_bytes[token].decode("utf-8", errors="replace")

    def _bytes_of(self, token: int) -> bytes:
        try:
            return self.lltok.decode_bytes([token])
        except Exception:
            return b""
