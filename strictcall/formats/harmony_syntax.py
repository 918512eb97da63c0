"""Harmony's vocabulary: its control tokens, and what a message header says.

Shared by the parser (harmony_parser.py) and the grammar (harmony.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

START = "<|start|>"
END = "<|end|>"
MESSAGE = "<|message|>"
CHANNEL = "<|channel|>"
CONSTRAIN = "<|constrain|>"
RETURN = "<|return|>"
CALL = "<|call|>"
MARKERS = (START, END, MESSAGE, CHANNEL, CONSTRAIN, RETURN, CALL)
CHANNELS = ("analysis", "commentary", "final")
BODY_ENDS = (END, CALL, RETURN)
# Built-in tools (python, browser.*) are called on the analysis channel, as part of the chain of
# thought, with the `code` content type: `<|channel|>analysis to=python code<|message|>...`.
# Their results come back on the same channel (docs/harmony.md).
BUILTIN_CHANNEL = "analysis"
BUILTIN_CONTENT_TYPE = "code"
PYTHON = "python"  # the one built-in whose body is code, not JSON arguments
_LONGEST = max(len(m) for m in MARKERS)
PARTIAL = ""  # _marker_at: the text ends inside what may be a marker

# Headers are short and made of names; anything else means we are not reading a header.
HEADER_RUN = re.compile(r"[\w.\-=:/ ]+")
HEADER_LIMIT = 256


def marker_at(text: str, i: int) -> str | None:
    """The marker starting at text[i] ('<'), `PARTIAL` if text ends inside one, else None."""
    for marker in MARKERS:
        if text.startswith(marker, i):
            return marker
    if len(text) - i >= _LONGEST:
        return None
    rest = text[i:]
    if any(m.startswith(rest) for m in MARKERS):
        return PARTIAL
    return None


def next_marker(text: str, pos: int, only: tuple[str, ...] = MARKERS) -> tuple[int, str | None]:
    """(index, marker) of the next marker in `only` at or after `pos`; `PARTIAL` when the text
    ends with a possible start of one; (len(text), None) when there is none."""
    while True:
        i = text.find("<", pos)
        if i < 0:
            return len(text), None
        marker = marker_at(text, i)
        if marker == PARTIAL or marker in only:
            return i, marker
        pos = i + 1


@dataclass(frozen=True)
class Header:
    channel: str | None
    recipient: str | None
    content_type: str | None


def parse_header(text: str) -> Header | None:
    """A message header (the text before `<|message|>`, markers included), None if malformed."""
    before, sep, after = text.partition(CHANNEL)
    if CHANNEL in after:
        return None
    recipient = None
    words = before.split()
    # only the assistant's own messages are output (the first one's role is in the prompt)
    if words and not words[0].startswith("to=") and words.pop(0) != "assistant":
        return None
    for word in words:
        if not word.startswith("to=") or recipient is not None:
            return None
        recipient = word[3:]
    channel = content_type = None
    if sep:
        rest = after.replace(CONSTRAIN, f" {CONSTRAIN} ").split()
        if not rest or rest[0] not in CHANNELS:
            return None  # a stray or missing channel name
        channel = rest.pop(0)
        constrained = False
        for word in rest:
            if word.startswith("to=") and recipient is None:
                recipient = word[3:]
            elif word == CONSTRAIN and not constrained and content_type is None:
                constrained = True
            elif content_type is None and not word.startswith("to="):
                content_type = word
            else:
                return None
        if constrained and content_type is None:
            return None
    if recipient == "":
        return None
    return Header(channel, recipient, content_type)
