"""One request pipeline for every API (DESIGN: one pipeline, many wire formats).

A route translates its wire body into a `PipelineRequest` and calls

    generation = await start(req: PipelineRequest, state: AppState) -> Generation

which runs every check (limits, model, tools, tool_choice, response format, sampling, stops,
reasoning effort; each refusal an APIError naming the wire field given in `req.params`),
renders the prompt, writes the grammar and submits it to the engine. The route then reads
`generation.steps()` (an async iterator of `Step`: parser deltas, logprobs, the finish and
token counts) to stream, or `await generation.complete(is_disconnected)` for one `Completion`
(the folded message, logprobs and the last step), and writes them in its own wire shape.
Chat Completions, Completions and Responses do exactly this; so can any later API.
"""

from strictcall.api.pipeline.checks import call_triggers, check_model, check_tool
from strictcall.api.pipeline.limits import check_text
from strictcall.api.pipeline.plan import Plan, count_prompt_tokens, plan_request
from strictcall.api.pipeline.request import (
    Mode,
    Params,
    PipelineRequest,
    Sampling,
    ToolDef,
    sampling_from,
)
from strictcall.api.pipeline.run import CLIENT_FAULTS, Completion, Generation, Step, start

__all__ = [
    "CLIENT_FAULTS",
    "Completion",
    "Generation",
    "Mode",
    "Params",
    "PipelineRequest",
    "Plan",
    "Sampling",
    "Step",
    "ToolDef",
    "call_triggers",
    "check_model",
    "check_text",
    "check_tool",
    "count_prompt_tokens",
    "plan_request",
    "sampling_from",
    "start",
]
