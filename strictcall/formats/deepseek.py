"""DeepSeek: a bare name and a JSON object between full-width special markers.

V3 and R1 wrap the arguments in a fenced JSON block after the call type:
`<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\\n```json\\n{...}\\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>`.
V3.1 drops the type and the fence:
`<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{...}<｜tool▁call▁end｜><｜tool▁calls▁end｜>`.
Both reason in `<think>`...`</think>` where the chat template opens that block.
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import NamedJsonBody
from strictcall.formats.syntax import CallSyntax, Reasoning

CALLS_BEGIN = "<｜tool▁calls▁begin｜>"
CALLS_END = "<｜tool▁calls▁end｜>"
CALL_BEGIN = "<｜tool▁call▁begin｜>"
CALL_END = "<｜tool▁call▁end｜>"
SEP = "<｜tool▁sep｜>"

DEEPSEEK_V3 = Format(
    name="deepseek_v3",
    description="function<｜tool▁sep｜>NAME + fenced JSON between DeepSeek markers (V3, R1)",
    syntax=CallSyntax(
        section_start=CALLS_BEGIN,
        call_start=CALL_BEGIN,
        call_end=CALL_END,
        section_end=CALLS_END,
        body=NamedJsonBody(
            name_prefix="function" + SEP, name_suffix="\n```json\n", args_suffix="\n```"
        ),
    ),
    reasoning=Reasoning("<think>", "</think>"),
)

DEEPSEEK_V31 = Format(
    name="deepseek_v31",
    description="NAME<｜tool▁sep｜>{json} between DeepSeek markers (V3.1)",
    syntax=CallSyntax(
        section_start=CALLS_BEGIN,
        call_start=CALL_BEGIN,
        call_end=CALL_END,
        section_end=CALLS_END,
        body=NamedJsonBody(name_suffix=SEP),
    ),
    reasoning=Reasoning("<think>", "</think>"),
)
