"""MeetKai Functionary v3.2: every message opens with `>>>RECIPIENT\n`, and the generation
prompt writes the first `>>>` (`...<|start_header_id|>assistant<|end_header_id|>\n\n>>>`).

    all\nThe answer>>>get_weather\n{"city": "Paris"}>>>get_time\n{}

The recipient `all` is the user: the answer text follows it. Any other recipient is a tool,
called with the JSON arguments on the next line; further calls follow, each after `>>>`. So
the output continues the prompt's `>>>` with `all\n` and text (perhaps followed by calls) or
with a call (`Format.prompt_opening`). Functionary writes code for its `python` tool raw,
without JSON; strictcall's python tool takes JSON arguments like any function.
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import NamedJsonBody
from strictcall.formats.syntax import Answer, CallSyntax

FUNCTIONARY_V3_2 = Format(
    name="functionary_v3_2",
    aliases=("functionary",),
    description=">>>all\\ntext, >>>NAME\\n{json}, the first >>> in the prompt (Functionary v3.2)",
    syntax=CallSyntax(call_start=">>>", body=NamedJsonBody(name_suffix="\n")),
    answer=Answer(">>>all\n"),
    prompt_opening=">>>",
)
