"""Render a chat template with probe conversations and cut out what sample calls add.

The same conversation is rendered ending in a plain answer and ending in calls (one, then
two); the text between the common start and the common end is what the template writes for
the calls, as a model trained on it writes them. Templates differ in how they want a call
message (content null or empty, arguments a mapping or a JSON string), so each shape is tried
until one renders the calls. A reasoning probe finds the markers around reasoning the same way.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from strictcall.chat.environment import render_template
from strictcall.chat.render import TemplateError, render_text
from strictcall.formats.rendering import (
    PROBE_CALLS,
    PROBE_IDS,
    PROBE_REASONING,
    PROBE_RESULT,
    PROBE_TOOL,
    Rendering,
    Sample,
)

log = logging.getLogger(__name__)

_ANSWER = "The answer is here"
_USER = {"role": "user", "content": "What is the weather in Paris?"}
_OPEN, _CLOSE = "<[", ">]"
_MARKER = r"<[^<>\s]*>|\[[^\[\]\s]*\]"


def _render(template: str, messages: list[dict[str, Any]], variables: dict[str, Any]) -> str:
    return render_template(
        template, messages, [PROBE_TOOL], add_generation_prompt=False, **variables
    )


def _call_message(calls: tuple, content: str | None, string_args: bool) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {
                "id": PROBE_IDS[i],
                "type": "function",
                "function": {"name": n, "arguments": json.dumps(a) if string_args else a},
            }
            for i, (n, a) in enumerate(calls)
        ],
    }


def cut(plain: str, changed: str) -> str:
    """What `changed` adds to `plain`: between their common start and common end, widened to
    whole markers (a cut never starts or ends inside `<...>` or `[...]`)."""
    start = 0
    while start < min(len(plain), len(changed)) and plain[start] == changed[start]:
        start += 1
    end = 0
    while end < min(len(plain), len(changed)) - start and plain[-1 - end] == changed[-1 - end]:
        end += 1
    stop = len(changed) - end
    for opener, closer in zip(_OPEN, _CLOSE, strict=True):
        head = changed[:start]
        if head.rfind(opener) > head.rfind(closer):
            start = head.rfind(opener)
        piece = changed[start:stop]
        if piece.rfind(opener) > piece.rfind(closer):
            found = changed.find(closer, stop)
            stop = found + 1 if found >= 0 else stop
    if 0 < start < len(changed) and changed[start].isalnum() and not changed[start - 1].isspace():
        while start and not changed[start - 1].isspace():  # a marker glued to a name
            start -= 1
    return changed[start:stop]


def _sample(template: str, calls: tuple, variables: dict[str, Any]) -> tuple[Sample | None, str]:
    name = calls[0][0]
    problem = "it renders no tool calls in an assistant message"
    try:
        plain = _render(template, [_USER, {"role": "assistant", "content": _ANSWER}], variables)
    except Exception as exc:  # a template raises anything: it is the evidence
        return None, f"it cannot render a plain answer ({type(exc).__name__}: {exc})"
    for content in ("", None):
        for string_args in (False, True):
            message = _call_message(calls, content, string_args)
            try:
                text = _render(template, [_USER, message], variables)
            except Exception as exc:
                problem = f"it cannot render tool calls ({type(exc).__name__}: {exc})"
                continue
            piece = cut(plain, text)
            if piece.count(name) >= len(calls):  # every call is there (some render only one)
                return Sample(calls, piece.strip()), ""
    return None, problem


def _reasoning(template: str, variables: dict[str, Any]) -> tuple[str, str] | None:
    plain = {"role": "assistant", "content": _ANSWER}
    thought = {**plain, "reasoning_content": PROBE_REASONING}
    try:
        a = _render(template, [_USER, plain], variables)
        b = _render(template, [_USER, thought], variables)
    except Exception:
        return None
    piece = cut(a, b)
    if PROBE_REASONING not in piece:
        return None
    # the markers right around the reasoning text (a template that writes them around empty
    # reasoning too shows them only outside the cut)
    at = b.index(PROBE_REASONING, b.index(piece))
    answer = b.find(_ANSWER, at)
    before = re.findall(_MARKER, b[:at].rstrip().split()[-1] if b[:at].strip() else "")
    after = re.findall(_MARKER, b[at + len(PROBE_REASONING) : answer].strip())
    if not before or not after:
        return None
    return before[-1], after[0]


def _tool_results(template: str, variables: dict[str, Any]) -> bool:
    """Does the template write a tool result into the prompt? (A template that refuses one
    says so itself when it is sent one.)"""
    result = {"role": "tool", "tool_call_id": PROBE_IDS[0], "content": PROBE_RESULT}
    messages = [_USER, _call_message(PROBE_CALLS[:1], None, True), result]
    try:
        return PROBE_RESULT in render_text(template, messages, [PROBE_TOOL], variables)
    except TemplateError:
        return True


def probe(template: str, variables: dict[str, Any] | None = None) -> Rendering:
    """What `template` writes for the probe calls (one, and two where it renders two)."""
    variables = {"bos_token": "", "eos_token": "", **(variables or {})}
    samples = []
    note = ""
    for calls in (PROBE_CALLS[:1], PROBE_CALLS):
        sample, why = _sample(template, calls, variables)
        if sample is None:
            note = note or why
            continue
        samples.append(sample)
    note = "" if samples else note
    results = _tool_results(template, variables)
    rendering = Rendering(tuple(samples), _reasoning(template, variables), note, results)
    log.debug("probe rendering: %s", rendering)
    return rendering
