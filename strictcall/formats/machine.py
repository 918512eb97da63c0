"""The feed loop every whole-output parser runs (the shared one and Harmony's).

A parser is a state machine over buffered text: each state has a handler that consumes from a
position and returns the position after what it consumed. The loop lives here, once, because
it carries the streaming guarantees (DESIGN idea 3): text is looked at from where the last
handler stopped, never re-parsed, and a handler that neither consumes nor changes state is
waiting for more text (a marker may be cut off), so only that tail is held back. How output
joins up into deltas is here too, so both parsers cut their deltas alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Generic, TypeVar

from strictcall.formats.types import Delta

S = TypeVar("S", bound=Enum)

# state -> handler(parser, pos) returning the position after what it consumed
Handlers = Mapping[S, Callable[[Any, int], int]]


class TextMachine(ABC, Generic[S]):
    """Incremental parser for one generation. Use `feed(text)` per delta, then `close()`.

    Subclasses keep their own states and handlers (`handlers`) and say in `_end` what the text
    held back at the end of the output is.
    """

    def __init__(self, handlers: Handlers[S], state: S):
        self.handlers = handlers
        self.state = state
        self.buf = ""  # text not consumed yet: a possible partial marker
        self.out: list[Delta] = []  # deltas produced since the last `_take`
        self.closed = False

    def feed(self, text: str) -> list[Delta]:
        if self.closed:
            raise RuntimeError("feed() after close()")
        self.buf += text
        pos = 0
        while pos < len(self.buf):
            state = self.state
            new = self.handlers[state](self, pos)
            if new == pos and self.state is state:
                break  # waiting for more text
            pos = new
        self.buf = self.buf[pos:]
        return self._take()

    def close(self) -> list[Delta]:
        if self.closed:
            return []
        self.closed = True
        rest, self.buf = self.buf, ""
        self._end(rest)
        return self._take()

    @abstractmethod
    def _end(self, rest: str) -> None:
        """The output ended in the current state; `rest` is the text that was held back."""

    def _take(self) -> list[Delta]:
        out, self.out = self.out, []
        return out

    # ---- output: text of the same kind as the last delta joins it, so a feed yields one
    # ---- delta per run of content, reasoning or arguments, not one per piece read
    def _emit_content(self, text: str) -> None:
        last = self.out[-1] if self.out else None
        if last is not None and last.content is not None and last.tool_call_index is None:
            last.content += text
        else:
            self.out.append(Delta(content=text))

    def _emit_reasoning(self, text: str) -> None:
        last = self.out[-1] if self.out else None
        if last is not None and last.reasoning is not None:
            last.reasoning += text
        else:
            self.out.append(Delta(reasoning=text))

    def _emit_arguments(self, index: int, text: str) -> None:
        last = self.out[-1] if self.out else None
        if last is not None and last.tool_call_index == index and last.arguments is not None:
            last.arguments += text
        else:
            self.out.append(Delta(tool_call_index=index, arguments=text))
