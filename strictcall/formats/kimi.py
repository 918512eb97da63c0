"""Moonshot Kimi K2: a bare name with the call's index, then JSON, between Kimi's markers.

    <|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:0<|tool_call_argument_begin|>
    {"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>

`functions.NAME:IDX` is the call's id (the template numbers calls across the conversation), so
the id a client gets is the one the model wrote. Kimi K2 Thinking reasons in `<think>`.
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import NamedJsonBody
from strictcall.formats.syntax import CallSyntax, Reasoning

KIMI_K2 = Format(
    name="kimi_k2",
    aliases=("kimi",),
    description="<|tool_call_begin|>functions.NAME:IDX<|tool_call_argument_begin|>{json} (Kimi K2)",
    syntax=CallSyntax(
        section_start="<|tool_calls_section_begin|>",
        call_start="<|tool_call_begin|>",
        call_end="<|tool_call_end|>",
        section_end="<|tool_calls_section_end|>",
        body=NamedJsonBody(
            name_prefix="functions.", call_index=":", name_suffix="<|tool_call_argument_begin|>"
        ),
    ),
    reasoning=Reasoning("<think>", "</think>"),
)
