"""Free text cannot spell a marker, in any format and any mode.

A random walk under each grammar (what a random-weight model can write) tries the family's
markers, spelled in ordinary tokens and as single tokens, wherever free text (the answer,
reasoning, Harmony's notes) may go: none ever reaches content or reasoning, so nothing a
model writes outside a checked call can look like one to the parser, or to a client.
"""

from __future__ import annotations

import pytest

from strictcall.formats import ConstraintSpec, ToolSpec, format_names, get_format
from strictcall.formats.constraint import marker_words
from strictcall.formats.harmony_syntax import MARKERS as HARMONY_MARKERS
from strictcall.grammar.schema import normalize_parameters
from tests.reliability.hostile import random_walk, tokenizer

SEEDS = 12
TOOLS = (
    ToolSpec(
        "get_weather",
        normalize_parameters({"type": "object", "properties": {"city": {"type": "string"}}}),
    ),
    ToolSpec("noop", normalize_parameters({"type": "object"})),
)


def forbidden(fmt) -> tuple[str, ...]:
    """Every marker of the format: its syntaxes' and its reasoning's."""
    if fmt.syntax is None:  # Harmony: its control tokens
        return HARMONY_MARKERS
    texts = [m for s in fmt.syntaxes for m in (*s.markers(), s.trigger)]
    if fmt.reasoning is not None:
        texts += [fmt.reasoning.start, fmt.reasoning.end]
    words = marker_words(texts)
    if fmt.reasoning is not None:  # a marker that is a phrase (Apriel's) is a marker whole
        reasoning = (fmt.reasoning.start, fmt.reasoning.end)
        words += tuple(m.strip() for m in reasoning if not marker_words([m]))
    triggers = tuple(s.trigger for s in fmt.syntaxes if s.trigger and not s.at_start)
    return tuple(dict.fromkeys(words + triggers))


@pytest.mark.parametrize("markers_as_tokens", [False, True], ids=["spelled", "single-token"])
# pythonic has no marker at all (its calls are a list opening the answer: test_injection.py)
@pytest.mark.parametrize("name", [n for n in format_names() if forbidden(get_format(n))])
def test_free_text_never_spells_a_marker(name, markers_as_tokens):
    fmt = get_format(name)
    _hf, _lltok, special = tokenizer(markers_as_tokens)
    words = forbidden(fmt)
    finished = 0
    for mode in ("auto", "none", "required"):
        spec = ConstraintSpec(
            tools=TOOLS,
            mode=mode,
            reasoning=fmt.reasoning is not None,
            special_tokens=special,
        )
        grammar = fmt.grammar(spec)
        for seed in range(SEEDS):
            text, done = random_walk(grammar, seed, markers_as_tokens, extra_markers=words)
            if not done:
                continue
            finished += 1
            result = fmt.parse(text, TOOLS, reasoning=spec.reasoning, calls=mode != "none")
            for where, value in (("content", result.content), ("reasoning", result.reasoning)):
                spelled = [w for w in words if w in (value or "")]
                assert not spelled, (mode, seed, where, spelled, text)
            if mode == "none":
                assert not result.tool_calls, text
    assert finished >= SEEDS, f"only {finished} walks finished"
