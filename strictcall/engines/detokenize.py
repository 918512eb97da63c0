"""Incremental detokenization: each token's exact bytes, decoded as UTF-8 as they complete.

The bytes come from the same token table the grammar engine uses, so the text the parser reads
is exactly the text the grammar constrained. Each token costs O(its length).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable


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
