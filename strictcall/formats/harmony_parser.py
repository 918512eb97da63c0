"""Harmony (gpt-oss) output, read incrementally.

After the prompt's `<|start|>assistant`, the model writes messages. Each has a header, a body
and an end token:

    [ to=RECIPIENT]<|channel|>CHANNEL[ to=RECIPIENT][ <|constrain|>TYPE]<|message|>BODY<|end|>
    <|start|>assistant ...   (every later message opens with <|start|> and the role)

The analysis channel is reasoning; commentary without a recipient (a preamble) and final are
content; a `functions.NAME` recipient (or a bare NAME) is a function call whose body is the JSON
arguments. `<|call|>` and `<|return|>` also end a message (they end the turn; the engine usually
stops on them, so they may never reach us). A recipient among `native` (the built-in tools the
request enabled: `python`, `browser.search`, ...) is a call of that tool: browser calls carry
JSON arguments like functions, python's body is code, returned as the arguments
`{"code": "..."}` (streamed as it comes) so a client always gets JSON. Other messages to
`assistant` or to a built-in tool (`python`, `browser.*`, `container.*`) are not output: they
are kept in `skipped`.

Like the shared parser, this one looks at each character a bounded number of times and holds
back only a possible partial marker at the end of a delta, so its output does not depend on how
the text was chunked. Nothing raises: a malformed sequence (a header without `<|message|>`, an
unexpected token, an unknown channel) is returned as raw content from that point up to the next
`<|start|>`; a call that turns out malformed is withdrawn (see `Delta.withdrawn`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from enum import Enum, auto

from strictcall.formats.harmony_syntax import (
    BODY_ENDS,
    CHANNEL,
    CONSTRAIN,
    HEADER_LIMIT,
    HEADER_RUN,
    MESSAGE,
    PARTIAL,
    PYTHON,
    START,
    marker_at,
    next_marker,
    parse_header,
)
from strictcall.formats.machine import TextMachine
from strictcall.formats.reading import StringReader
from strictcall.formats.types import Delta, IdFactory, openai_call_id
from strictcall.formats.validation import ArgumentsCheck

_OUT_OF_STRING = re.compile(r'["<]')
_BUILTIN = re.compile(r"^(assistant|python|(browser|container)(\..*)?)$")


class _Mode(Enum):
    HEADER = auto()  # reading a header, up to <|message|>
    TEXT = auto()  # a reasoning or content body
    CALL = auto()  # a function call's JSON arguments
    CODE = auto()  # a python call's code
    SKIP = auto()  # a message to the assistant or a built-in tool
    BETWEEN = auto()  # after a message's end token: <|start|> or the end of the output
    RAW = auto()  # after something malformed: content up to the next <|start|>


class HarmonyParser(TextMachine[_Mode]):
    """Incremental parser for one generation. Use `feed(text)` per delta, then `close()`.

    `tools`: declared function names (None accepts any); `calls=False` reads every function
    call as content (no tools were offered, or none may be called); `native`: the built-in
    tools called by their own recipient (`to=python`), among `tools`.
    """

    def __init__(
        self,
        tools: set[str] | None = None,
        *,
        calls: bool = True,
        new_id: IdFactory = openai_call_id,
        native: Collection[str] = (),
        check_arguments: ArgumentsCheck | None = None,
    ):
        self.tools = tools
        self.check_arguments = check_arguments
        self.call_name = ""  # the function being called
        self.allow_calls = calls
        self.new_id = new_id
        self.native = frozenset(native)
        super().__init__(_HANDLERS, _Mode.HEADER)
        self.header: list[str] = []  # the header read so far, markers included
        self.header_len = 0
        self.raw: list[str] = []  # the current message's text, returned if it is malformed
        self.kind = "content"  # what a TEXT body is: "reasoning" or "content"
        self.has_text = False  # the current message produced text
        self.emitted = {"reasoning": False, "content": False}
        self.index = -1  # the current call
        self.args: list[str] = []
        self.args_started = False
        self.string = StringReader()  # a JSON string in the arguments
        self.skipping: tuple[str, str | None] | None = None
        self.skipped: list[tuple[str, str | None, str]] = []  # (recipient, channel, body)
        self.calls = 0  # calls begun
        self.malformed = 0  # calls that fell back to content
        self.broken = 0  # other malformed sequences (returned as content)

    def _end(self, rest: str) -> None:
        mode = self.state
        if mode is _Mode.HEADER:
            raw = "".join(self.raw) + rest
            if raw.strip():
                self.broken += 1
                self._new_message()
                self._text("content", raw)
        elif mode is _Mode.TEXT:
            self._text(self.kind, rest)
        elif mode is _Mode.CALL:
            self._args(rest)
            self._finish_call("")
        elif mode is _Mode.CODE:
            self._code(rest)
            self._finish_code()
        elif mode is _Mode.SKIP:
            self._skip(rest)
            self._end_skip()
        elif mode is _Mode.BETWEEN:
            if rest.strip():
                self._new_message()
                self._text("content", rest)
        else:
            self._text("content", rest)

    # ---- output -------------------------------------------------------------------------
    def _new_message(self) -> None:
        self.has_text = False

    def _text(self, kind: str, text: str) -> None:
        """Reasoning or content; messages of the same kind are joined with a newline."""
        if not text:
            return
        if not self.has_text:
            self.has_text = True
            if self.emitted[kind]:
                text = "\n" + text
            self.emitted[kind] = True
        if kind == "reasoning":
            self._emit_reasoning(text)
        else:
            self._emit_content(text)

    def _args(self, text: str) -> None:
        if not self.args_started:
            text = text.lstrip()
            if not text:
                return
            self.args_started = True
        self.args.append(text)
        self.raw.append(text)
        self._emit_arguments(self.index, text)

    def _code(self, text: str) -> None:
        """Python code, streamed as the inside of the JSON string `{"code": "..."}`: JSON
        escapes one character at a time, so the pieces join up however the text was cut."""
        if text:
            self.raw.append(text)
            self._emit_arguments(self.index, json.dumps(text, ensure_ascii=False)[1:-1])

    def _skip(self, text: str) -> None:
        self.args.append(text)

    # ---- modes: each returns the position after what it consumed --------------------------
    def _on_header(self, pos: int) -> int:
        buf = self.buf
        while pos < len(buf):
            run = HEADER_RUN.match(buf, pos)
            if run is not None:
                self._header_piece(run.group())
                pos = run.end()
                if self.header_len > HEADER_LIMIT:
                    self._broken_header("")
                    return pos
                continue
            marker = marker_at(buf, pos) if buf[pos] == "<" else None
            if marker == PARTIAL:
                return pos
            if marker in (CHANNEL, CONSTRAIN):
                self._header_piece(marker)
                pos += len(marker)
            elif marker == MESSAGE:
                self.raw.append(marker)
                self._open_message()
                return pos + len(marker)
            elif marker == START:  # a new message: this header was not one
                if "".join(self.header).strip():
                    self._broken_header("")
                self._begin_header()
                return pos + len(marker)
            elif marker is not None:  # an end token inside a header
                self._broken_header(marker)
                return pos + len(marker)
            else:  # a character no header has: this is text, not a header
                self._broken_header("")
                return pos
        return pos

    def _on_text(self, pos: int) -> int:
        i, marker = next_marker(self.buf, pos)
        self._text(self.kind, self.buf[pos:i])
        if not marker:  # no marker, or a partial one: wait
            return i
        self._end_body(marker)
        return i + len(marker)

    def _on_skip(self, pos: int) -> int:
        i, marker = next_marker(self.buf, pos)
        self._skip(self.buf[pos:i])
        if not marker:
            return i
        self._end_skip()
        self._end_body(marker)
        return i + len(marker)

    def _on_code(self, pos: int) -> int:
        i, marker = next_marker(self.buf, pos)
        self._code(self.buf[pos:i])
        if not marker:
            return i
        if marker in BODY_ENDS or marker == START:
            self._finish_code()
            self._end_body(marker)
        else:  # <|channel|> or the like inside the code: not a call after all
            self._withdraw(marker)
        return i + len(marker)

    def _on_call(self, pos: int) -> int:
        """JSON arguments: a marker outside a string ends them (inside one, it is text)."""
        buf, start = self.buf, pos
        while pos < len(buf):
            if self.string.inside:
                pos = self.string.feed(buf, pos)
            else:
                m = _OUT_OF_STRING.search(buf, pos)
                if m is None:
                    pos = len(buf)
                elif m.group() == '"':
                    self.string.open()
                    pos = m.end()
                else:
                    marker = marker_at(buf, m.start())
                    if marker is None:
                        pos = m.end()
                        continue
                    self._args(buf[start : m.start()])
                    if marker == PARTIAL:
                        return m.start()
                    if self._finish_call("" if marker == START else marker):
                        self._end_body(marker)
                    elif marker == START:  # the next message is still read as one
                        self._begin_header()
                    return m.start() + len(marker)
        self._args(buf[start:pos])
        return pos

    def _on_between(self, pos: int) -> int:
        buf = self.buf
        while pos < len(buf) and buf[pos].isspace():
            pos += 1
        if pos == len(buf):
            return pos
        marker = marker_at(buf, pos) if buf[pos] == "<" else None
        if marker == PARTIAL:
            return pos
        if marker == START:
            self._begin_header()
            return pos + len(marker)
        self.broken += 1  # text outside any message
        self._to_raw()
        return pos

    def _on_raw(self, pos: int) -> int:
        i, marker = next_marker(self.buf, pos, only=(START,))
        self._text("content", self.buf[pos:i])
        if not marker:
            return i
        self._begin_header()
        return i + len(marker)

    # ---- transitions --------------------------------------------------------------------
    def _header_piece(self, text: str) -> None:
        self.header.append(text)
        self.raw.append(text)
        self.header_len += len(text)

    def _begin_header(self) -> None:
        self.state = _Mode.HEADER
        self.header, self.header_len = [], 0
        self.raw = [START]

    def _broken_header(self, token: str) -> None:
        """Not a header after all: what was read (and `token`) is content."""
        self.broken += 1
        raw = "".join(self.raw) + token
        self._to_raw()
        self._text("content", raw)

    def _to_raw(self) -> None:
        self._new_message()
        self.raw = []
        self.state = _Mode.RAW

    def _open_message(self) -> None:
        header = parse_header("".join(self.header))
        if header is None:
            self._broken_header("")
            return
        self._new_message()
        recipient = header.recipient
        if recipient is None:
            self.kind = "reasoning" if header.channel == "analysis" else "content"
            self.state = _Mode.TEXT
        elif recipient in self.native and self.allow_calls:
            self._begin_call(recipient, code=recipient == PYTHON)
        elif _BUILTIN.match(recipient):
            self.skipping = (recipient, header.channel)
            self.args = []
            self.state = _Mode.SKIP
        else:
            self._begin_call(recipient.removeprefix("functions."))

    def _begin_call(self, name: str, code: bool = False) -> None:
        self.index = self.calls
        self.calls += 1
        if not self.allow_calls or (self.tools is not None and name not in self.tools):
            self.malformed += 1
            raw = "".join(self.raw)
            self._to_raw()
            self._text("content", raw)
            return
        self.args, self.args_started = [], False
        self.string = StringReader()
        self.call_name = name
        self.out.append(Delta(tool_call_index=self.index, id=self.new_id(), name=name))
        self.state = _Mode.CALL
        if code:
            self.out.append(Delta(tool_call_index=self.index, arguments='{"code": "'))
            self.state = _Mode.CODE

    def _finish_code(self) -> None:
        self._emit_arguments(self.index, '"}')
        self.raw = []

    def _finish_call(self, marker: str) -> bool:
        """The arguments are complete; a call whose arguments are not a JSON object is
        withdrawn and its text, `marker` included, becomes content. True if it was good."""
        text = "".join(self.args).strip()
        if not text:
            self._args("{}")  # a call without arguments: an empty object
            text = "{}"
        try:
            ok = isinstance(json.loads(text), dict)
        except ValueError:
            ok = False
        if marker not in (*BODY_ENDS, START, ""):
            ok = False  # <|channel|> or the like inside the arguments
        if ok and self.check_arguments is not None:
            ok = self.check_arguments(self.call_name, text) is None  # the tool's schema
        if ok:
            self.raw = []
            return True
        self._withdraw(marker)
        return False

    def _withdraw(self, marker: str) -> None:
        """The call begun is not one: its text, `marker` included, becomes content."""
        self.malformed += 1
        raw = "".join(self.raw) + marker
        prefix = "\n" if self.emitted["content"] else ""
        self.emitted["content"] = True
        self.out.append(Delta(tool_call_index=self.index, content=prefix + raw, withdrawn=True))
        self._to_raw()
        self.has_text = True  # what follows continues that text

    def _end_skip(self) -> None:
        assert self.skipping is not None
        recipient, channel = self.skipping
        self.skipped.append((recipient, channel, "".join(self.args)))
        self.skipping = None

    def _end_body(self, marker: str) -> None:
        if marker in BODY_ENDS:
            self.state = _Mode.BETWEEN
        elif marker == START:  # the end token is missing, but the next message is clear
            self._begin_header()
        else:  # <|channel|>, <|message|> or <|constrain|> inside a body
            self.broken += 1
            continues = self.state is _Mode.TEXT and self.kind == "content" and self.has_text
            self._to_raw()
            self.has_text = continues  # raw text right after content is more of it
            self._text("content", marker)


_HANDLERS: dict[_Mode, Callable[[HarmonyParser, int], int]] = {
    _Mode.HEADER: HarmonyParser._on_header,
    _Mode.TEXT: HarmonyParser._on_text,
    _Mode.CALL: HarmonyParser._on_call,
    _Mode.CODE: HarmonyParser._on_code,
    _Mode.SKIP: HarmonyParser._on_skip,
    _Mode.BETWEEN: HarmonyParser._on_between,
    _Mode.RAW: HarmonyParser._on_raw,
}
