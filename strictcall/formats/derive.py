"""A declaration derived from a chat template's rendering, for templates no format reads.

llama.cpp's chat autoparser shows the idea: the markers and the body's shape are read off what
the template writes for sample calls (formats/rendering.py), and the result is an ordinary
`Format`, so grammar and parser come from it as from a hand-written one. Three body shapes are
recognised, as the templates in the wild write them:

- a JSON object holding the name and the arguments under two keys (`{"name": .., "arguments":
  {..}}`, whatever the keys are called): `JsonObjectBody`;
- the name, then the arguments as a JSON object (`>>>NAME\\n{..}`, `{"NAME": {..}}`):
  `NamedJsonBody`;
- the name, then tagged parameters (`<function name="NAME"><param name="K">V</param>`):
  `XmlParamsBody` with the tags read off the rendering (strings raw, other values JSON).

Around the body, the one-call and two-call samples give the section's and each call's markers
and the separator between calls (a template that renders one call only gives a format that makes
one call). The derived format must read every sample back exactly, or none is derived.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody, NamedJsonBody
from strictcall.formats.rendering import PROBE_IDS, Rendering, Sample, sample_score
from strictcall.formats.syntax import Body, CallSyntax, Reasoning
from strictcall.formats.xml_params import XmlParamsBody
from strictcall.grammar.xml_parameters import XmlTags

log = logging.getLogger(__name__)

DERIVED = "derived"
_MARKER = re.compile(r"<[^<>]*>|\[[^\[\]]*\]")


@dataclass(frozen=True)
class _Shape:
    """One body shape found in a sample: its span, and the body that writes it."""

    start: int
    end: int
    body: Body


def derive_format(rendering: Rendering) -> Format | None:
    """A format that writes and reads what the template renders for calls, or None (the
    reason is logged) when the rendering fits none of the shapes."""
    if not rendering.samples:
        return None
    if any(i in s.text for s in rendering.samples for i in PROBE_IDS):
        log.info("no declaration derived: the template writes the call ids into the calls")
        return None
    for shape in (_json_object, _named_json, _tagged):
        fmt = _derive(rendering, shape)
        if fmt is not None:
            return fmt
    log.info("no declaration could be derived from the rendering %r", rendering.samples[0].text)
    return None


def _derive(rendering: Rendering, find: Any) -> Format | None:
    spans: list[list[_Shape]] = []
    for sample in rendering.samples:
        found = _spans(sample, find)
        if found is None:
            return None
        spans.append(found)
    syntax = _syntax(rendering.samples, spans)
    if syntax is None:
        return None
    reasoning = Reasoning(*rendering.reasoning) if rendering.reasoning else None
    fmt = Format(
        name=DERIVED,
        syntax=syntax,
        reasoning=reasoning,
        description=f"derived from the chat template's rendering: {rendering.samples[0].text!r}",
    )
    readable = [s for s in rendering.samples if syntax.repeats or len(s.calls) == 1]
    if any(sample_score(fmt, syntax, s) < 2 for s in readable):
        return None
    name = rendering.samples[0].calls[0][0]
    if name in fmt.render_calls([("other", {"a": "x", "b": 1})]):  # a marker holds the name
        return None
    return fmt


def _spans(sample: Sample, find: Any) -> list[_Shape] | None:
    """Each call's body in the sample, in order, all of one shape."""
    out: list[_Shape] = []
    pos = 0
    for name, args in sample.calls:
        shape = find(sample.text, pos, name, args)
        if shape is None:
            return None
        if out and shape.body != out[0].body:
            return None
        out.append(shape)
        pos = shape.end
    return out


def _json_at(text: str, pos: int) -> tuple[Any, int] | None:
    try:
        return json.JSONDecoder().raw_decode(text, pos)
    except ValueError:
        return None


def _objects(text: str, pos: int) -> list[tuple[int, Any, int]]:
    """Every JSON object from `pos` on: (start, value, end)."""
    out = []
    for m in re.finditer(r"\{", text[pos:]):
        start = pos + m.start()
        found = _json_at(text, start)
        if found is not None and isinstance(found[0], dict):
            out.append((start, found[0], found[1]))
    return out


def _json_object(text: str, pos: int, name: str, args: dict) -> _Shape | None:
    for start, value, end in _objects(text, pos):
        keys = [k for k, v in value.items() if v == name]
        arg_keys = [k for k, v in value.items() if v == args or _decodes_to(v, args)]
        if len(value) == 2 and keys and arg_keys:
            body = JsonObjectBody(name_key=keys[0], args_key=arg_keys[0])
            return _Shape(start, end, body)
    return None


def _decodes_to(value: Any, args: dict) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return bool(json.loads(value) == args)
    except ValueError:
        return False


def _named_json(text: str, pos: int, name: str, args: dict) -> _Shape | None:
    for start, value, end in _objects(text, pos):
        if value != args:
            continue
        at = text.rfind(name, pos, start)
        if at < 0:
            return None
        suffix = text[at + len(name) : start]
        if _has_json_open(suffix):  # the name is a key of an object around the arguments:
            prefix_start = text.rfind("{", pos, at)  # the object opens the body
            if prefix_start < 0 or text[prefix_start:at].strip() != '{"':
                return None
            closing = text[end:].lstrip()
            if not closing.startswith("}"):
                return None
            body = NamedJsonBody(name_prefix='{"', name_suffix=suffix, args_suffix="}")
            return _Shape(prefix_start, end + text[end:].index("}") + 1, body)
        return _Shape(at, end, NamedJsonBody(name_suffix=suffix))
    return None


def _has_json_open(suffix: str) -> bool:
    return suffix.strip().startswith('"')


def _tagged(text: str, pos: int, name: str, args: dict) -> _Shape | None:
    """`NAME name_end (key_open K key_close V value_close separator)* function_close`."""
    at = text.find(name, pos)
    if at < 0 or len(args) < 2:
        return None
    cursor = at + len(name)
    places = []  # (key start, key end, value start, value end)
    for key, value in args.items():
        written = value if isinstance(value, str) else json.dumps(value)
        k = text.find(key, cursor)
        v = text.find(written, k + len(key)) if k >= 0 else -1
        if v < 0:
            return None
        places.append((k, k + len(key), v, v + len(written)))
        cursor = v + len(written)
    closes = {text[ke:vs] for _, ke, vs, _ in places}
    if len(closes) != 1:  # the opening differs by type (typed tags): not this shape
        return None
    key_close = closes.pop()
    between = text[places[0][3] : places[1][0]]  # value_close separator key_open
    tail = text[places[-1][3] :]
    value_close = _common_marker_prefix(between, tail)
    if not value_close.strip():
        return None
    rest, tail = between[len(value_close) :], tail[len(value_close) :]
    separator = rest[: len(rest) - len(rest.lstrip())]
    key_open = rest[len(separator) :]
    lead = text[at + len(name) : places[0][0]]
    if not key_open or not lead.endswith(key_open) or not tail.startswith(separator):
        return None
    close = _MARKER.match(tail[len(separator) :])
    if close is None:
        return None
    tags = XmlTags(
        name_end=lead[: len(lead) - len(key_open)],
        key_open=key_open,
        key_close=key_close,
        value_close=value_close,
        layout="",
        separator=separator,
        function_close=close.group(),
    )
    end = places[-1][3] + len(value_close) + len(separator) + close.end()
    return _Shape(at, end, XmlParamsBody(tags=tags))


def _common_marker_prefix(a: str, b: str) -> str:
    """The longest common start of `a` and `b` that ends after a whole marker."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    ends = [m.end() for m in _MARKER.finditer(a[:n]) if m.end() <= n]
    return a[: ends[-1]] if ends else ""


def _common_suffix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return a[len(a) - n :]


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _syntax(samples: tuple[Sample, ...], spans: list[list[_Shape]]) -> CallSyntax | None:
    """The markers around the bodies: from the one-call sample, and the two-call one's gap."""
    one = samples[0].text
    first = spans[0][0]
    opening, closing = one[: first.start], one[first.end :]
    body = first.body
    two = next((i for i, s in enumerate(spans) if len(s) > 1), None)
    if two is None:  # one call only: everything around the body is the section
        return _checked(section_start=opening, section_end=closing, body=body)
    alone = _checked(section_start=opening, section_end=closing, body=body)
    text, (a, b) = samples[two].text, spans[two][:2]
    if text[: a.start] != opening or text[b.end :] != closing:
        return alone
    gap = text[a.end : b.start]
    call_start = _common_suffix(opening, gap)
    if not call_start.strip():
        call_start = ""
    rest = gap[: len(gap) - len(call_start)]
    call_end = _common_prefix(rest, closing)
    if not call_end.strip():
        call_end = ""
    # calls with no marker between them cannot be told apart: one call then
    return _checked(
        section_start=opening[: len(opening) - len(call_start)],
        call_start=call_start,
        call_end=call_end,
        separator=rest[len(call_end) :],
        section_end=closing[len(call_end) :],
        body=body,
        fallback=alone,
    )


def _checked(fallback: CallSyntax | None = None, **pieces: Any) -> CallSyntax | None:
    """The syntax, where it has a start marker to be recognised by (and, for several calls, a
    marker between calls: else `fallback`, a syntax for one call)."""
    opening = (pieces.get("section_start", "") + pieces.get("call_start", "")).strip()
    glued = _MARKER.match(opening)
    if glued and opening.split()[0] != glued.group():  # `<|tools_prefix|>[`: the marker
        pieces["trigger_marker"] = glued.group()  # is the trigger, as a token of its own
    try:
        syntax = CallSyntax(**pieces)
    except ValueError:
        return fallback
    if not syntax.trigger or (fallback is not None and not syntax.repeats):
        return fallback
    return syntax
