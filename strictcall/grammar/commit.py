"""Advance a grammar matcher by a sampled token, working around llguidance mask glitches.

llguidance 1.9.1 can let a special token into the mask where the grammar forces text that
spells it (a const value or a lone required property name `</tool_call>`), then refuse to
consume it (an end-of-turn token too). Such a token is struck from the row and another one drawn;
when the row has nothing else, the forced text is written in ordinary tokens. So a schema that
spells a marker, even the model's end of turn, still ends in a valid call instead of an error.
"""

from __future__ import annotations

from collections.abc import Callable

import llguidance
import torch

# How many times a token the mask allowed but the matcher refused is struck out and redrawn.
MAX_REDRAWS = 4


def commit(
    matcher: llguidance.LLMatcher,
    lltok: llguidance.LLTokenizer,
    row: torch.Tensor,
    token: int,
    draw: Callable[[torch.Tensor], int],
) -> tuple[int, str | None]:
    """Consume `token` (or a replacement drawn from `row`, edited in place).

    Returns (token consumed, None), or (-1, why) when the matcher refuses every way on.
    """
    for _ in range(MAX_REDRAWS):
        if token in lltok.eos_tokens:
            # An end token the grammar also names (gpt-oss's <|call|> closes a call and ends the
            # turn): try_consume_tokens refuses it while the grammar is not yet accepting, so
            # consume it the ordinary way. Where the grammar forces text that spells it (a
            # const `<|im_end|>`), llguidance lets it into the mask and then refuses it: tried
            # on a copy first, such a token is struck out like any other refused one.
            if matcher.is_accepting() or matcher.deep_copy().consume_token(token):
                if matcher.consume_token(token):
                    return token, None
                return -1, "the grammar refused the end of the output: " + matcher.get_error()[:300]
        elif matcher.try_consume_tokens([token]) == 1:
            return token, None
        row[token] = float("-inf")
        if not torch.isfinite(row).any():
            break
        token = draw(row)
    spelled = spelled_forced_token(matcher, lltok)
    if spelled is not None and matcher.try_consume_tokens([spelled]) == 1:
        return spelled, None
    detail = f": {matcher.get_error()[:300]}" if matcher.is_error() else ""
    return -1, "the grammar refused every token it allowed" + detail


def spelled_forced_token(
    matcher: llguidance.LLMatcher, lltok: llguidance.LLTokenizer
) -> int | None:
    """The first ordinary token of the text the grammar forces next, if any.

    Special tokens appear in forced bytes as 0xFF plus their id; only the text before one is
    spelled out (greedily, over ordinary tokens: a special token never matches plain text).
    """
    forced = matcher.compute_ff_bytes().split(b"\xff", 1)[0]
    text = forced.decode("utf-8", errors="ignore")
    ids = lltok.greedy_tokenize(text) if text else []
    return ids[0] if ids else None
