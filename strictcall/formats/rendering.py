"""What a chat template writes for sample calls: the evidence formats are detected from.

chat/probe.py renders the template with probe conversations and cuts out what the calls add;
detection (formats/detect.py) keeps the declarations whose parser reads them back exactly, and
derivation (formats/derive.py) builds one from them where none does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from strictcall.formats.base import Format
from strictcall.formats.syntax import CallSyntax

# The probe's tool and calls: a string and an integer argument, so that a body's typing shows.
PROBE_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
PROBE_CALLS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("get_weather", {"city": "Paris", "days": 2}),
    ("get_weather", {"city": "Lyon", "days": 3}),
)
PROBE_REASONING = "Thinking about the weather"
PROBE_RESULT = "Sunny and 21 degrees"
# 9 alphanumerics: the one id shape every template accepts (Mistral's refuse others)
PROBE_IDS = ("a1B2c3D4e", "f5G6h7I8j")


@dataclass(frozen=True)
class Sample:
    """Calls and the text the template wrote for them (as the model would write them)."""

    calls: tuple[tuple[str, dict[str, Any]], ...]
    text: str


@dataclass(frozen=True)
class Rendering:
    """The samples a template renders (one call, two calls: those it can), the reasoning block
    of an assistant turn split around the reasoning text (None: it writes none), whether it
    writes a tool result into the prompt, and why there are no samples when there are none."""

    samples: tuple[Sample, ...] = ()
    reasoning: tuple[str, str] | None = None
    note: str = ""
    tool_results: bool = True

    @property
    def has_calls(self) -> bool:
        return bool(self.samples)


def sample_score(fmt: Format, syntax: CallSyntax, sample: Sample) -> int:
    """How well `syntax` of `fmt` reads one sample: 4 its grammar writes it exactly, 3 up to
    whitespace, 2 its parser reads the calls back exactly leaving nothing else, 1 leaving
    other text (an end-of-turn marker the template writes after them), 0 not exactly."""
    one = replace(fmt, syntax=syntax, variants=(), written=())
    try:
        result = one.parse(sample.text, [PROBE_TOOL])
    except Exception:  # a parser that breaks on foreign text reads nothing
        return 0
    got = [(c.name, _loads(c.arguments)) for c in result.tool_calls]
    if got != [(n, a) for n, a in sample.calls] or result.incomplete:
        return 0
    try:
        written = one.render_calls(list(sample.calls))
    except Exception:
        written = ""
    if written.strip() == sample.text:
        return 4
    if "".join(written.split()) == "".join(sample.text.split()):
        return 3
    return 2 if not (result.content or "").strip() else 1


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
