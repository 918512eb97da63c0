"""Upstage Solar Open: messages after `<|begin|>assistant`, each opened by its kind.

    <|think|>reasoning<|end|><|begin|>assistant<|content|>The answer<|end|><|begin|>assistant
    <|tool_calls|><|tool_call:begin|>a1b2c3d4e5<|tool_call:name|>get_weather
    <|tool_call:args|>{"city": "Paris"}<|tool_call:end|><|calls|>

(one line in the output). The call's id comes first and is written by the model: the template's
system prompt asks for 10 lowercase letters and digits, which the grammar enforces; the client
gets the id the model wrote (one it already gave in this output is replaced by a new one).
"""

import secrets
import string

from strictcall.formats.base import Format
from strictcall.formats.bodies import NamedJsonBody
from strictcall.formats.syntax import Answer, CallSyntax, Reasoning

_ID_CHARS = string.ascii_lowercase + string.digits


def solar_call_id() -> str:
    """A call id of the shape the template asks the model for: 10 of [a-z0-9]."""
    return "".join(secrets.choice(_ID_CHARS) for _ in range(10))


# the end of one message and the opening of the next
_NEXT = "<|end|><|begin|>assistant"

SOLAR_OPEN = Format(
    name="solar_open",
    description=(
        "<|tool_calls|><|tool_call:begin|>ID<|tool_call:name|>NAME<|tool_call:args|>{json}"
        "<|tool_call:end|><|calls|> (Upstage Solar Open)"
    ),
    syntax=CallSyntax(
        section_start="<|tool_calls|>",
        call_start="<|tool_call:begin|>",
        call_end="<|tool_call:end|>",
        section_end="<|calls|>",
        body=NamedJsonBody(
            name_prefix="<|tool_call:name|>",
            name_suffix="<|tool_call:args|>",
            id_pattern="[a-z0-9]{10}",
            id_example="a1b2c3d4e5",
        ),
    ),
    reasoning=Reasoning("<|think|>", _NEXT),
    answer=Answer("<|content|>", "<|end|>", "<|begin|>assistant"),
    new_id=solar_call_id,
)
