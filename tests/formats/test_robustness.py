"""Every format, on damaged model output: never raises, returns only JSON arguments, and reads
the same however the text is chunked."""

from __future__ import annotations

import json
import random

import pytest

from strictcall.formats import format_names, get_format
from strictcall.formats.types import assemble
from tests.api.toolsets import TOOLS
from tests.formats.chunks import feed_in_pieces

CALLS = [
    ("get_weather", {"city": "Paris", "unit": "celsius"}),
    ("book.flight", {"from": "CDG", "to": "JFK", "passengers": [{"name": "A'n\"n", "age": 30}]}),
    ("get-time", {}),
]
# pieces that matter to some format: markers, brackets, quotes, literals
NOISE = [*"[](){}'\",=<>/\\\n :abn0", "True", "None", "null", "```json\n", "\n```", "</think>"]


def _renderable(name: str) -> bool:
    try:
        get_format(name).render_calls(CALLS[:1])
    except NotImplementedError:
        return False
    return True


def _noise(fmt) -> list[str]:
    return NOISE + fmt.markers()


def _mutate(text: str, noise: list[str], rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        i = rng.randint(0, len(chars))
        roll = rng.random()
        if roll < 0.4 and chars:
            del chars[min(i, len(chars) - 1)]
        elif roll < 0.8:
            chars.insert(i, rng.choice(noise))
        else:
            chars = chars[:i]
    return "".join(chars)


def _read(fmt, text: str, tools, pieces: list[int]):
    result = assemble(feed_in_pieces(fmt.stream(tools), text, pieces))
    for call in result.tool_calls:
        json.loads(call.arguments)
    return result.content, result.reasoning, [(c.name, c.arguments) for c in result.tool_calls]


@pytest.mark.parametrize("name", [n for n in format_names() if _renderable(n)])
def test_damaged_output_never_raises_and_does_not_depend_on_chunking(name):
    fmt = get_format(name)
    rng = random.Random(name)
    noise = _noise(fmt)
    bases = [fmt.render_calls(CALLS[:k]) for k in (1, 2, 3)]
    bases += ["<think>x</think>" + bases[1], "hello " + bases[0] + " bye"]
    for _ in range(60):
        text = _mutate(rng.choice(bases), noise, rng)
        for tools in (TOOLS, None):
            whole = _read(fmt, text, tools, [])
            assert _read(fmt, text, tools, [1] * len(text)) == whole, text
            pieces = [rng.randint(1, 7) for _ in range(len(text))]
            assert _read(fmt, text, tools, pieces) == whole, text
