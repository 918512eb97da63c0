"""The streaming parser every marker-based family shares.

It keeps its state between `feed` calls and looks at each new character a bounded number of
times: it never re-parses accumulated text. Only a possible partial marker at the end of a
delta is held back. The concatenated output is the same however the text is chunked.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, auto

from strictcall.formats.syntax import BodyParser, CallSyntax, Reasoning
from strictcall.formats.types import Delta, IdFactory, openai_call_id


class _State(Enum):
    START = auto()  # nothing but whitespace seen yet
    REASONING = auto()
    CONTENT = auto()
    OPENING = auto()  # matching markers between the trigger and the first body
    BODY = auto()
    CLOSING = auto()  # matching a call's end marker
    AFTER_CALL = auto()  # another call, the section end, or the end of the output
    TRAILER = auto()  # an optional marker after the section end


def _partial_suffix(text: str, markers: list[str]) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of some marker."""
    best = 0
    for marker in markers:
        for n in range(min(len(marker) - 1, len(text)), best, -1):
            if text.endswith(marker[:n]):
                best = n
                break
    return best


class _PartsMatcher:
    """Matches one of several marker sequences, whitespace allowed before each marker.

    Candidates keep their index (an empty candidate never matches), so callers can tell
    which one matched.
    """

    def __init__(self, candidates: list[list[str]]):
        self.candidates = candidates
        self.alive = [i for i, c in enumerate(candidates) if c]
        self.part = 0  # which marker of the sequence
        self.offset = 0  # characters matched in that marker

    def feed(self, text: str, pos: int) -> tuple[int, int | None]:
        """Advance; return (pos, result): result is a candidate index, -1 (no match) or None."""
        while pos < len(text):
            ch = text[pos]
            if self.offset == 0 and ch.isspace():
                pos += 1
                continue
            survivors = [
                i
                for i in self.alive
                if self.part < len(self.candidates[i])
                and self.candidates[i][self.part][self.offset] == ch
            ]
            if not survivors:
                return pos, -1
            self.alive = survivors
            pos += 1
            self.offset += 1
            finished = [i for i in survivors if self.offset == len(self.candidates[i][self.part])]
            for i in finished:
                if self.part + 1 == len(self.candidates[i]):
                    return pos, i
            if finished:  # a marker ended: continue with the sequences it belongs to
                self.alive = finished
                self.part += 1
                self.offset = 0
        return pos, None


class _Emitter:
    """Drops leading characters in `lead_chars` and holds trailing `trail_chars` until more
    text proves they are not the end."""

    def __init__(self, lead_chars: str = "", trail_chars: str = ""):
        self.lead_chars = lead_chars
        self.trail_chars = trail_chars
        self.leading = True
        self.held = ""

    def push(self, text: str) -> str:
        if self.leading:
            text = text.lstrip(self.lead_chars) if self.lead_chars else text
            if not text:
                return ""
            self.leading = False
        if not self.trail_chars:
            return text
        body = text.rstrip(self.trail_chars)
        if not body:
            self.held += text
            return ""
        out = self.held + body
        self.held = text[len(body) :]
        return out


class StreamParser:
    """Incremental parser for one generation. Use `feed(text)` per delta, then `close()`."""

    def __init__(
        self,
        syntax: CallSyntax | None,
        reasoning: Reasoning | None = None,
        *,
        tools: set[str] | None = None,
        in_reasoning: bool = False,
        new_id: IdFactory = openai_call_id,
        check_arguments: Callable[[str, str], str | None] | None = None,
    ):
        self.syntax = syntax
        self.reasoning = reasoning
        self.tools = tools
        self.new_id = new_id
        self.check_arguments = check_arguments
        self.buf = ""
        self.out: list[Delta] = []
        self.state = _State.REASONING if in_reasoning and reasoning else _State.START
        self.content = _Emitter()
        self.thought = _Emitter("\n", "\n")
        # each opening's first marker (a trigger) -> the markers after it
        self.openings = syntax.openings() if syntax else {}
        self.triggers = list(self.openings)
        # anchored formats: calls only while nothing but whitespace has been answered
        self.anchor_open = bool(syntax and syntax.anchored)
        self.lead = ""  # whitespace held while an anchored opening may still follow
        self.raw: list[str] = []  # text of the tool section/call being read, for fallback
        self.matcher: _PartsMatcher | None = None
        self.body: BodyParser | None = None
        self.index = -1  # index of the current call
        self.announced = False  # id and name of the current call were emitted
        self.calls = 0
        self.malformed = 0  # calls that fell back to content
        self.closed = False

    # ---- public -------------------------------------------------------------------------
    def feed(self, text: str) -> list[Delta]:
        if self.closed:
            raise RuntimeError("feed() after close()")
        self.buf += text
        pos = 0
        while pos < len(self.buf):
            state = self.state
            new = _HANDLERS[state](self, pos)
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
        state = self.state
        if state in (_State.START, _State.CONTENT):
            self._content(self.lead + rest if rest else "")  # whitespace alone is no answer
        elif state is _State.REASONING:
            self._reasoning(rest)
            self.thought.held = ""
        elif state is _State.BODY:
            assert self.body is not None
            self.body.close()
            if self.body.done:
                self._finish_body()
            else:
                self._fail(rest)
        elif state is _State.OPENING:
            self._fail(rest)
        elif state in (_State.CLOSING, _State.AFTER_CALL, _State.TRAILER):
            partial = "".join(self.raw) + rest
            if partial.strip():
                self._content(partial)
        return self._take()

    # ---- output -------------------------------------------------------------------------
    def _take(self) -> list[Delta]:
        out, self.out = self.out, []
        return out

    def _content(self, text: str) -> None:
        text = self.content.push(text)
        if not text:
            return
        last = self.out[-1] if self.out else None
        if last is not None and last.content is not None and last.tool_call_index is None:
            last.content += text
        else:
            self.out.append(Delta(content=text))

    def _reasoning(self, text: str) -> None:
        text = self.thought.push(text)
        if not text:
            return
        last = self.out[-1] if self.out else None
        if last is not None and last.reasoning is not None:
            last.reasoning += text
        else:
            self.out.append(Delta(reasoning=text))

    def _arguments(self, text: str) -> None:
        if not text:
            return
        last = self.out[-1] if self.out else None
        if last is not None and last.tool_call_index == self.index and last.arguments is not None:
            last.arguments += text
        else:
            self.out.append(Delta(tool_call_index=self.index, arguments=text))

    # ---- states: each returns the position after what it consumed ------------------------
    def _on_start(self, pos: int) -> int:
        buf = self.buf
        while pos < len(buf) and buf[pos].isspace():
            pos += 1
        if pos == len(buf):
            return pos
        marker = self.reasoning.start if self.reasoning else None
        if marker:
            if buf.startswith(marker, pos):
                self.state = _State.REASONING
                return pos + len(marker)
            if marker.startswith(buf[pos:]):
                return pos
        self.state = _State.CONTENT
        return pos

    def _on_reasoning(self, pos: int) -> int:
        assert self.reasoning is not None
        end = self.reasoning.end
        i = self.buf.find(end, pos)
        if i >= 0:
            self._reasoning(self.buf[pos:i])
            self.thought.held = ""
            self.content = _Emitter("\n")
            self.state = _State.CONTENT
            return i + len(end)
        stop = len(self.buf) - _partial_suffix(self.buf[pos:], [end])
        self._reasoning(self.buf[pos:stop])
        return stop

    def _on_content(self, pos: int) -> int:
        buf = self.buf
        if self.anchor_open:
            return self._on_anchor(pos)
        if not self.triggers or (self.syntax is not None and self.syntax.anchored):
            self._content(buf[pos:])
            return len(buf)
        best, trigger = -1, ""
        for t in self.triggers:
            i = buf.find(t, pos)
            if i >= 0 and (best < 0 or i < best or (i == best and len(t) > len(trigger))):
                best, trigger = i, t
        if best < 0:
            stop = len(buf) - _partial_suffix(buf[pos:], self.triggers)
            self._content(buf[pos:stop])
            return stop
        self._content(buf[pos:best])
        return self._open(trigger, best + len(trigger))

    def _on_anchor(self, pos: int) -> int:
        """Anchored formats: an opening right here (after whitespace), or content for good."""
        buf = self.buf
        start = pos
        while pos < len(buf) and buf[pos].isspace():
            pos += 1
        self.lead += buf[start:pos]
        if pos == len(buf):
            return pos
        hits = [t for t in self.triggers if buf.startswith(t, pos)]
        if hits:
            trigger = max(hits, key=len)
            self.anchor_open = False
            self.lead = ""
            return self._open(trigger, pos + len(trigger))
        rest = len(buf) - pos
        if any(rest < len(t) and t.startswith(buf[pos:]) for t in self.triggers):
            return pos  # could still become an opening
        self.anchor_open = False
        self._content(self.lead)
        self.lead = ""
        return pos

    def _open(self, trigger: str, end: int) -> int:
        """A trigger was read (it ends at `end`): match the rest of its opening."""
        self.raw = [trigger]
        opening = self.openings[trigger]
        if opening:
            self.matcher = _PartsMatcher([opening])
            self.state = _State.OPENING
        else:
            self._begin_call()
        return end

    def _on_opening(self, pos: int) -> int:
        return self._match(pos, on_match=lambda _i: self._begin_call(), on_miss=self._fail)

    def _on_body(self, pos: int) -> int:
        body = self.body
        assert body is not None
        new = body.feed(self.buf, pos)
        self.raw.append(self.buf[pos:new])
        if body.error:
            self._fail("")
            return new
        if body.name is not None and not self.announced:
            if self.tools is not None and body.name not in self.tools:
                self._fail("")
                return new
            self.announced = True
            self.out.append(Delta(tool_call_index=self.index, id=self.new_id(), name=body.name))
        if self.announced:
            self._arguments(body.take_arguments())
        if body.done:
            self._finish_body()
        return new

    def _on_closing(self, pos: int) -> int:
        return self._match(pos, on_match=lambda _i: self._after_call(), on_miss=self._trailing)

    def _on_after_call(self, pos: int) -> int:
        def matched(i: int) -> None:
            if i == 0:
                self._begin_call()
            else:
                self._after_section()

        return self._match(pos, on_match=matched, on_miss=self._trailing)

    def _on_trailer(self, pos: int) -> int:
        def matched(_i: int) -> None:
            self.raw = []
            self.state = _State.CONTENT

        return self._match(pos, on_match=matched, on_miss=self._trailing)

    # ---- transitions --------------------------------------------------------------------
    def _match(self, pos: int, on_match, on_miss) -> int:
        assert self.matcher is not None
        new, result = self.matcher.feed(self.buf, pos)
        self.raw.append(self.buf[pos:new])
        if result is None:
            return new
        if result < 0:
            on_miss("")
        else:
            on_match(result)
        return new

    def _trailing(self, _rest: str) -> None:
        """A complete call is followed by something else: that text (and the whitespace
        before it) is content."""
        text = "".join(self.raw)
        self.raw = []
        self.state = _State.CONTENT
        self._content(text)

    def _begin_call(self) -> None:
        assert self.syntax is not None
        self.index = self.calls
        self.calls += 1
        self.announced = False
        self.body = self.syntax.body.parser()
        self.state = _State.BODY

    def _finish_body(self) -> None:
        assert self.body is not None and self.syntax is not None
        body = self.body
        problem = None
        if body.name is None:
            problem = "no name"
        elif self.tools is not None and body.name not in self.tools:
            problem = f"unknown tool {body.name!r}"
        elif self.check_arguments is not None:
            problem = self.check_arguments(body.name, body.arguments_json())
        if problem:
            self._fail("")
            return
        if not self.announced:
            self.announced = True
            self.out.append(Delta(tool_call_index=self.index, id=self.new_id(), name=body.name))
        self._arguments(body.take_arguments())
        self.raw = []
        self.body = None
        closing = self.syntax.call_end.split()
        if closing:
            self.matcher = _PartsMatcher([closing])
            self.state = _State.CLOSING
        else:
            self._after_call()

    def _after_call(self) -> None:
        assert self.syntax is not None
        self.raw = []
        # candidate 0: another call; candidate 1: the end of the tool section
        self.matcher = _PartsMatcher(
            [self.syntax.next_call_parts(), self.syntax.section_end.split()]
        )
        if self.matcher.alive:
            self.state = _State.AFTER_CALL
        else:
            self._after_section()

    def _after_section(self) -> None:
        assert self.syntax is not None
        trailer = self.syntax.trailer.split()
        self.raw = []
        if trailer:
            self.matcher = _PartsMatcher([trailer])
            self.state = _State.TRAILER
        else:
            self.state = _State.CONTENT

    def _fail(self, rest: str) -> None:
        """The call being read is malformed: its raw text becomes content."""
        raw = "".join(self.raw) + rest
        self.raw = []
        self.body = None
        self.malformed += 1
        if self.announced:
            text = self.content.push(raw)  # content as if it had never looked like a call
            self.out.append(Delta(tool_call_index=self.index, content=text, withdrawn=True))
            self.announced = False
        else:
            self._content(raw)
        self.state = _State.CONTENT


_HANDLERS: dict[_State, Callable[[StreamParser, int], int | None]] = {
    _State.START: StreamParser._on_start,
    _State.REASONING: StreamParser._on_reasoning,
    _State.CONTENT: StreamParser._on_content,
    _State.OPENING: StreamParser._on_opening,
    _State.BODY: StreamParser._on_body,
    _State.CLOSING: StreamParser._on_closing,
    _State.AFTER_CALL: StreamParser._on_after_call,
    _State.TRAILER: StreamParser._on_trailer,
}
