"""Feeding a stream parser in pieces: every format's tests check that chunking never matters."""

from __future__ import annotations

import random

from strictcall.formats import Delta


def feed_in_pieces(parser, text: str, pieces: list[int] | None = None) -> list[Delta]:
    """Feeds `text` in pieces of the given lengths, then whatever is left, then closes."""
    deltas: list[Delta] = []
    i = 0
    for n in pieces or ():
        deltas += parser.feed(text[i : i + n])
        i += n
    return deltas + parser.feed(text[i:]) + parser.close()


def random_pieces(text: str, rng: random.Random) -> list[int]:
    """Lengths that cover `text`, mostly small, now and then a long one."""
    out, left = [], len(text)
    while left > 0:
        n = min(left, rng.choice([1, 1, 2, 3, 5, 8, 40]))
        out.append(n)
        left -= n
    return out


def feed_by_char(parser, text: str) -> tuple[list[Delta], int]:
    """Feeds `text` one character at a time; returns the deltas and the most text the parser
    ever held back (a linear parser holds at most a partial marker)."""
    deltas: list[Delta] = []
    held = 0
    for ch in text:
        deltas += parser.feed(ch)
        held = max(held, len(parser.buf))
    return deltas + parser.close(), held
