"""InternLM2 / InternLM2.5 plugin calls.

`<|action_start|><|plugin|>\n{"name": "f", "parameters": {..}}<|action_end|>`; the parser also
reads "arguments" for "parameters".
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody
from strictcall.formats.syntax import CallSyntax

INTERNLM = Format(
    name="internlm",
    aliases=("internlm2", "internlm2_5"),
    description="<|action_start|><|plugin|>{json}<|action_end|> (InternLM2, InternLM2.5)",
    syntax=CallSyntax(
        call_start="<|action_start|><|plugin|>\n",
        call_end="<|action_end|>",
        separator="\n",
        body=JsonObjectBody(args_key="parameters", aliases=("arguments",)),
    ),
)
