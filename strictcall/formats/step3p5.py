"""StepFun Step 3.5: Qwen3-Coder's `<tool_call><function=NAME><parameter=K>` calls, written one
after another with nothing between them, after `<think>` reasoning."""

from dataclasses import replace

from strictcall.formats.base import Format
from strictcall.formats.qwen3_coder import QWEN3_CODER

assert QWEN3_CODER.syntax is not None
STEP3P5 = replace(
    QWEN3_CODER,
    name="step3p5",
    aliases=("step3.5", "stepfun"),
    description="<tool_call><function=NAME><parameter=K>V</parameter>... (Step 3.5)",
    syntax=replace(QWEN3_CODER.syntax, separator=""),
)

__all__ = ["STEP3P5", "Format"]
