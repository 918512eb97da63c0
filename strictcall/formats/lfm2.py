"""Liquid LFM2 / LFM2.5: a pythonic list of calls between `<|tool_call_start|>` and
`<|tool_call_end|>`, after `<think>` reasoning.

    <|tool_call_start|>[get_weather(city='Paris', n=2)]<|tool_call_end|>

Values are Python literals, read as JSON (formats/pythonic.py); the markers are special
tokens, so the list may follow some text.
"""

from strictcall.formats.base import Format
from strictcall.formats.pythonic import PythonCallBody
from strictcall.formats.syntax import CallSyntax, Reasoning

LFM2 = Format(
    name="lfm2",
    aliases=("lfm2.5", "liquid"),
    description="<|tool_call_start|>[f(a=1), ...]<|tool_call_end|> (LFM2, LFM2.5)",
    syntax=CallSyntax(
        section_start="<|tool_call_start|>[",
        trigger_marker="<|tool_call_start|>",
        separator=", ",
        section_end="]<|tool_call_end|>",
        body=PythonCallBody(),
    ),
    reasoning=Reasoning("<think>", "</think>"),
)
