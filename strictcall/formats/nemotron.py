"""NVIDIA Nemotron Nano v2: `<TOOLCALL>[{"name": "f", "arguments": {..}}, ...]</TOOLCALL>`.

The list of calls between `<TOOLCALL>` and `</TOOLCALL>`, after `<think>` reasoning.
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import json_list
from strictcall.formats.syntax import Reasoning

NEMOTRON = Format(
    name="nemotron_json",
    aliases=("nemotron", "nemotron_nano_v2"),
    description="<TOOLCALL>[{json}, ...]</TOOLCALL> (Nemotron Nano v2)",
    syntax=json_list("<TOOLCALL>", "</TOOLCALL>"),
    reasoning=Reasoning("<think>", "</think>"),
)
