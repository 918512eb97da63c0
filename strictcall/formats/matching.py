"""Matching declared markers in streamed text, a character at a time.

The stream parser reads markers that may be cut anywhere between deltas and may have
whitespace before them (a declaration's whitespace is layout, not a requirement). These two
pieces keep that bookkeeping out of the parser's states: what to hold back at the end of a
delta, and which of several marker sequences the text is spelling.
"""

from __future__ import annotations

from strictcall.formats.syntax import Body


def partial_suffix(text: str, markers: list[str]) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of some marker."""
    best = 0
    for marker in markers:
        for n in range(min(len(marker) - 1, len(text)), best, -1):
            if text.endswith(marker[:n]):
                best = n
                break
    return best


class PartsMatcher:
    """Matches one of several marker sequences, whitespace allowed before each marker.

    Candidates keep their index (an empty candidate never matches), so callers can tell
    which one matched. With `follows`, a candidate whose markers are matched also needs the
    next non-space character to start its body (that character is not consumed): this is how
    syntaxes sharing a trigger are told apart.
    """

    def __init__(self, candidates: list[list[str]], follows: list[Body] | None = None):
        self.candidates = candidates
        self.follows = follows
        self.alive = [i for i, c in enumerate(candidates) if c or follows is not None]
        self.started = False  # a character of some marker was matched (not just whitespace)
        # per candidate: which marker of its sequence, characters matched in that marker
        self.at = {i: (0, 0) for i in self.alive}

    def feed(self, text: str, pos: int) -> tuple[int, int | None]:
        """Advance; return (pos, result): result is a candidate index, -1 (no match) or None."""
        while pos < len(text):
            ch = text[pos]
            survivors = []
            for i in self.alive:
                seq = self.candidates[i]
                part, offset = self.at[i]
                if offset == 0 and ch.isspace():
                    survivors.append(i)
                elif part == len(seq):  # markers done: does the body start here?
                    assert self.follows is not None
                    if self.follows[i].starts(ch):
                        return pos, i
                elif seq[part][offset] == ch:
                    self.started = True
                    offset += 1
                    if offset == len(seq[part]):
                        part, offset = part + 1, 0
                        if part == len(seq) and self.follows is None:
                            return pos + 1, i
                    self.at[i] = (part, offset)
                    survivors.append(i)
            if not survivors:
                return pos, -1
            self.alive = survivors
            pos += 1
        return pos, None
