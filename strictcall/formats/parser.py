"""The streaming parser every marker-based family shares.

It keeps its state between `feed` calls and looks at each new character a bounded number of
times: it never re-parses accumulated text. Only a possible partial marker at the end of a
delta is held back. The concatenated output is the same however the text is chunked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum, auto

from strictcall.formats.machine import TextMachine
from strictcall.formats.matching import PartsMatcher, partial_suffix
from strictcall.formats.syntax import Answer, BodyParser, CallSyntax, Reasoning
from strictcall.formats.types import Delta, IdFactory, openai_call_id


class _State(Enum):
    START = auto()  # nothing but whitespace seen yet
    REASONING = auto()
    HEADER = auto()  # the answer's first characters: the opening of a plain answer?
    LEAD = auto()  # the answer's first characters: a call syntax that counts only here?
    CONTENT = auto()
    OPENING = auto()  # matching markers between the trigger and the first body
    BODY = auto()
    CLOSING = auto()  # matching a call's end marker
    AFTER_CALL = auto()  # another call, the section end, or the end of the output
    TRAILER = auto()  # an optional marker after the section end


class _Emitter:
    """Drops leading characters in `lead_chars` and holds trailing `trail_chars` (or what may
    be the `tail` an answer ends with) until more text proves they are not the end.
    `lead_text` is dropped where the first text begins with it (what the prompt opened: the
    parser reads it, but the model did not write it)."""

    def __init__(
        self, lead_chars: str = "", trail_chars: str = "", tail: str = "", lead_text: str = ""
    ):
        self.lead_chars = lead_chars
        self.trail_chars = trail_chars
        self.tail = tail
        self.lead_text = lead_text
        self.leading = True
        self.held = ""

    def push(self, text: str) -> str:
        if self.lead_text and text:
            # the opening is read whole before any content comes out, so it is never split
            text = text.removeprefix(self.lead_text)
            self.lead_text = ""
        if self.leading:
            text = text.lstrip(self.lead_chars) if self.lead_chars else text
            if not text:
                return ""
            self.leading = False
        if self.tail:
            text = self.held + text
            keep = len(self.tail) if text.endswith(self.tail) else partial_suffix(text, [self.tail])
            self.held = text[len(text) - keep :]
            return text[: len(text) - keep]
        if not self.trail_chars:
            return text
        body = text.rstrip(self.trail_chars)
        if not body:
            self.held += text
            return ""
        out = self.held + body
        self.held = text[len(body) :]
        return out


class StreamParser(TextMachine[_State]):
    """Incremental parser for one generation. Use `feed(text)` per delta, then `close()`.

    `syntax` is one call syntax or several (a family's canonical one first, then the other
    spellings it is known to write); the parser reads any of them. `answer`: markers around
    the answer text, dropped from content. `opened`: what the prompt already wrote of the
    output (Functionary's `>>>`), read as if the output began with it.
    """

    def __init__(
        self,
        syntax: CallSyntax | Sequence[CallSyntax] | None,
        reasoning: Reasoning | None = None,
        *,
        tools: set[str] | None = None,
        in_reasoning: bool = False,
        new_id: IdFactory = openai_call_id,
        check_arguments: Callable[[str, str], str | None] | None = None,
        answer: Answer | None = None,
        framing: tuple[str, str] = ("", ""),
        opened: str = "",
    ):
        if syntax is None:
            syntax = ()
        elif isinstance(syntax, CallSyntax):
            syntax = (syntax,)
        self.syntaxes = tuple(syntax)
        self.syntax = self.syntaxes[0] if self.syntaxes else None  # the one being read
        self.reasoning = reasoning
        self.tools = tools
        self.new_id = new_id
        self.check_arguments = check_arguments
        super().__init__(
            _HANDLERS, _State.REASONING if in_reasoning and reasoning else _State.START
        )
        # what a plain answer opens with and may end with (Format.answer_start, answer_end)
        self.answer_start, self.answer_end = framing
        self.content = _Emitter(tail=self.answer_end, lead_text=opened)
        self.thought = _Emitter("\n", "\n")
        self.dropped = answer.marks() if answer is not None else ()  # markers around text
        # markers that start a section (or are dropped) anywhere, longest first (it wins a tie)
        triggers = {s.trigger for s in self.syntaxes if not s.at_start} | set(self.dropped)
        self.triggers = sorted(triggers, key=len, reverse=True)
        self.leading = [s for s in self.syntaxes if s.at_start]  # count only at the start
        self.candidates: list[CallSyntax] = []  # syntaxes the opening being matched may be
        self.looked = 0  # characters already looked at, not yet consumed (see _look)
        self.raw: list[str] = []  # text of the tool section/call being read, for fallback
        self.matcher: PartsMatcher | None = None
        self.body: BodyParser | None = None
        self.index = -1  # index of the current call
        self.announced = False  # id and name of the current call were emitted
        self.calls = 0
        self.malformed = 0  # calls that fell back to content
        self.ids: set[str] = set()  # ids given so far: each call's is its own
        if opened:
            self.out = self.feed(opened)

    def _end(self, rest: str) -> None:
        state = self.state
        if state in (_State.START, _State.HEADER, _State.LEAD, _State.CONTENT):
            if rest in self.dropped:  # the answer's end marker, held in case calls followed
                rest = ""
            self._content("".join(self.raw) + rest)  # raw: whitespace LEAD looked past
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
        self._release(drop_tail=True)

    def _release(self, drop_tail: bool = False) -> None:
        """Content held as a possible answer end is content after all (or, where the answer
        ends with it, `drop_tail`, is dropped)."""
        held, self.content.held = self.content.held, ""
        if held and self.content.tail and not (drop_tail and held == self.content.tail):
            self._emit_content(held)

    # ---- output -------------------------------------------------------------------------
    def _content(self, text: str) -> None:
        text = self.content.push(text)
        if text:
            self._emit_content(text)

    def _reasoning(self, text: str) -> None:
        text = self.thought.push(text)
        if text:
            self._emit_reasoning(text)

    def _arguments(self, text: str) -> None:
        if text:
            self._emit_arguments(self.index, text)

    # ---- states: each returns the position after what it consumed ------------------------
    def _on_start(self, pos: int) -> int:
        """Before any text: a reasoning block may open (after whitespace, which it drops)."""
        buf = self.buf
        i = pos
        while i < len(buf) and buf[i].isspace():
            i += 1
        marker = self.reasoning.start.lstrip() if self.reasoning else None
        if marker:
            if buf.startswith(marker, i):
                self.state = _State.REASONING
                return i + len(marker)
            if i == len(buf) or marker.startswith(buf[i:]):
                return pos  # wait: it may still become the marker
        self._answer()
        return pos

    def _answer(self, header: bool = True) -> None:
        """The answer begins (after any reasoning, and its plain opening where `header`)."""
        if header and self.answer_start:
            self.matcher = PartsMatcher([self.answer_start.split()])
            self.state = _State.HEADER
            return
        self.state = _State.LEAD if self.leading else _State.CONTENT

    def _on_header(self, pos: int) -> int:
        """A plain answer's opening is dropped (then no call can open the answer); anything
        else is read again as the answer's start."""
        assert self.matcher is not None
        new, result = self.matcher.feed(self.buf, pos + self.looked)
        if result is None:
            self.looked = new - pos
            return pos
        self.matcher, self.looked = None, 0
        if result < 0:
            self._answer(header=False)
            return pos
        self.state = _State.CONTENT
        return new

    def _on_reasoning(self, pos: int) -> int:
        assert self.reasoning is not None
        end = self.reasoning.end
        i = self.buf.find(end, pos)
        if i >= 0:
            self._reasoning(self.buf[pos:i])
            self.thought.held = ""
            self.content = _Emitter("\n", tail=self.answer_end)
            self._answer()
            return i + len(end)
        stop = len(self.buf) - partial_suffix(self.buf[pos:], [end])
        self._reasoning(self.buf[pos:stop])
        return stop

    def _on_lead(self, pos: int) -> int:
        """Does a syntax that counts only here open the answer? If not, it is content."""
        if self.matcher is None:
            sequences = [[s.trigger, *s.opening_parts()] if s.trigger else [] for s in self.leading]
            self.matcher = PartsMatcher(sequences, [s.body for s in self.leading])

        def matched(i: int) -> None:
            self.syntax = self.leading[i]
            self._begin_call()

        return self._look(pos, on_match=matched)

    def _on_content(self, pos: int) -> int:
        buf = self.buf
        if not self.triggers:
            self._content(buf[pos:])
            return len(buf)
        best, trigger = -1, ""
        for t in self.triggers:
            i = buf.find(t, pos)
            if i >= 0 and (best < 0 or i < best):
                best, trigger = i, t
        if best < 0:
            stop = len(buf) - partial_suffix(buf[pos:], self.triggers)
            self._content(buf[pos:stop])
            return stop
        self._content(buf[pos:best])
        if any(len(t) > len(trigger) and t.startswith(buf[best:]) for t in self.triggers):
            return best  # a longer trigger may still be coming
        if trigger in self.dropped:
            return best + len(trigger)
        self.raw = [trigger]
        self.candidates = [s for s in self.syntaxes if not s.at_start and s.trigger == trigger]
        end = best + len(trigger)
        if len(self.candidates) == 1:
            self.syntax = self.candidates[0]
            opening = self.syntax.opening_parts()
            if not opening:
                self._begin_call()
                return end
            self.matcher = PartsMatcher([opening])
        else:
            self.matcher = PartsMatcher(
                [s.opening_parts() for s in self.candidates], [s.body for s in self.candidates]
            )
        self.state = _State.OPENING
        return end

    def _on_opening(self, pos: int) -> int:
        def matched(i: int) -> None:
            self.syntax = self.candidates[i]
            self._begin_call()

        return self._match(pos, on_match=matched, on_miss=self._fail)

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
            self._announce(body)
        if self.announced:
            self._arguments(body.take_arguments())
        if body.done:
            self._finish_body()
        return new

    def _on_closing(self, pos: int) -> int:
        return self._look(pos, on_match=lambda _i: self._after_call())

    def _on_after_call(self, pos: int) -> int:
        def matched(i: int) -> None:
            if i == 0:
                self._begin_call()
            else:
                self._after_section()

        return self._look(pos, on_match=matched)

    def _on_trailer(self, pos: int) -> int:
        def matched(_i: int) -> None:
            self.raw = []
            self.state = _State.CONTENT

        return self._look(pos, on_match=matched)

    # ---- transitions --------------------------------------------------------------------
    def _match(self, pos: int, on_match, on_miss) -> int:
        """Markers inside a tool section: what they consume belongs to it (`raw`)."""
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

    def _look(self, pos: int, on_match: Callable[[int], None]) -> int:
        """Markers that may continue (or open) calls where anything else is content: after a
        call, and at the answer's start. Whitespace is consumed as it comes; from the first
        other character nothing is consumed until the markers are decided (`looked` keeps
        each character from being looked at twice), so text that is not one of them is read
        again as content, where it may still open a call."""
        assert self.matcher is not None
        new, result = self.matcher.feed(self.buf, pos + self.looked)
        if result is None:
            if self.matcher.started:
                self.looked = new - pos
                return pos
            self.raw.append(self.buf[pos:new])
            return new
        self.matcher, self.looked = None, 0
        if result < 0:
            self._trailing()
            return pos
        self.raw.append(self.buf[pos:new])
        on_match(result)
        return new

    def _trailing(self) -> None:
        """What follows a complete call (or opens the answer) is not a marker: it is content,
        with the whitespace before it (only whitespace that ends the output is dropped)."""
        text = "".join(self.raw)
        self.raw = []
        self.state = _State.CONTENT
        self._content(text)

    def _begin_call(self) -> None:
        assert self.syntax is not None
        self._release()
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
            self._announce(body)
        self._arguments(body.take_arguments())
        self.content.lead_text = ""  # the prompt's opening began this call: it is behind us
        self.raw = []
        self.body = None
        closing = self.syntax.call_end.split()
        if closing:
            self.matcher = PartsMatcher([closing])
            self.state = _State.CLOSING
        else:
            self._after_call()

    def _announce(self, body: BodyParser) -> None:
        """The call's id and name. The id is the one the model wrote where its syntax has one,
        unless an earlier call of this output already has it (a model writing ids that should
        be random writes the same one twice under greedy sampling)."""
        call_id = body.call_id
        if not call_id or call_id in self.ids:
            call_id = self.new_id()
        self.ids.add(call_id)
        self.announced = True
        self.out.append(Delta(tool_call_index=self.index, id=call_id, name=body.name))

    def _after_call(self) -> None:
        assert self.syntax is not None
        self.raw = []
        # candidate 0: another call; candidate 1: the end of the tool section
        self.matcher = PartsMatcher(
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
            self.matcher = PartsMatcher([trailer])
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


_HANDLERS: dict[_State, Callable[[StreamParser, int], int]] = {
    _State.START: StreamParser._on_start,
    _State.REASONING: StreamParser._on_reasoning,
    _State.HEADER: StreamParser._on_header,
    _State.LEAD: StreamParser._on_lead,
    _State.CONTENT: StreamParser._on_content,
    _State.OPENING: StreamParser._on_opening,
    _State.BODY: StreamParser._on_body,
    _State.CLOSING: StreamParser._on_closing,
    _State.AFTER_CALL: StreamParser._on_after_call,
    _State.TRAILER: StreamParser._on_trailer,
}
