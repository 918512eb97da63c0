"""Streaming stays linear for every format: feeding a long call one character at a time never
rebuilds the text accumulated so far (the timing itself is in bench/)."""

from __future__ import annotations

import pytest

from strictcall.formats import format_names, get_format
from strictcall.formats.reading import StreamedText

BLOB = "x" * 20_000


def _renders(name: str) -> bool:
    try:
        get_format(name).render_calls([("f", {"blob": "y"})])
    except NotImplementedError:
        return False
    return True


@pytest.mark.parametrize("name", [n for n in format_names() if _renders(n)])
def test_accumulated_text_is_joined_a_bounded_number_of_times(name, monkeypatch):
    joins = 0
    original = StreamedText.text

    def counted(self):
        nonlocal joins
        joins += 1
        return original(self)

    monkeypatch.setattr(StreamedText, "text", counted)
    fmt = get_format(name)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {"type": "object", "properties": {"blob": {"type": "string"}}},
            },
        }
    ]
    text = fmt.render_calls([("f", {"blob": BLOB})])
    parser = fmt.stream(tools)
    deltas = []
    for ch in text:
        deltas += parser.feed(ch)
    deltas += parser.close()
    assert "".join(d.arguments or "" for d in deltas).count("x") == len(BLOB)
    # a per-delta rebuild would join ~20,000 times; finishing a call joins a handful
    assert joins < 20, f"{name}: the accumulated text was joined {joins} times"


@pytest.mark.parametrize("name", [n for n in format_names() if _renders(n)])
def test_a_long_string_argument_streams_as_it_arrives(name):
    """By 90% of the input, most of an 8 KB string argument has been sent: no family holds a
    string value back until its call closes."""
    fmt = get_format(name)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {"type": "object", "properties": {"blob": {"type": "string"}}},
            },
        }
    ]
    text = fmt.render_calls([("f", {"blob": "y" * 8192})])
    parser = fmt.stream(tools)
    cut = int(len(text) * 0.9)
    streamed = 0
    for i in range(0, cut, 4):
        streamed += sum(
            (d.arguments or "").count("y") for d in parser.feed(text[i : min(i + 4, cut)])
        )
    assert streamed / 8192 > 0.85, f"{name}: {streamed / 8192:.0%} streamed by 90% of the input"
