"""What a generation asks for, in no API's shape.

Each API route translates its wire body into a `PipelineRequest` (chat-shaped messages, the
functions the model may call, a tool_choice mode, sampling) and names, in `Params`, the wire
fields each part came from, so every refusal the pipeline makes names the field the client
actually sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from strictcall.formats import ToolSpec

Mode = Literal["auto", "none", "required", "named"]


@dataclass(frozen=True)
class ToolDef:
    """A function the model may call, as the client (or a server-side tool) declared it.

    `param` is where it sits in the wire body (chat: "tools[2].function", Responses:
    "tools[2]"); the pipeline checks its name and schema and names `param` when they are wrong.
    `native`: a built-in the format presents its own way (Harmony's browser and python).
    """

    name: str
    parameters: dict[str, Any] | None
    param: str
    native: bool = False


@dataclass(frozen=True)
class Params:
    """The wire names of the request's parts, for error messages."""

    messages: str = "messages"
    tools: str = "tools"
    tool_choice: str = "tool_choice"
    named_tool: str = "tool_choice.function.name"  # where a named tool_choice names it
    required: str = "required"  # what the API calls tool_choice "required" (Messages: "any")
    response_format: str = "response_format"
    # the prefix a response_format's json_schema errors carry (Responses flattens it)
    json_schema: str = "response_format.json_schema"
    structured_outputs: str = "structured_outputs"
    reasoning_effort: str = "reasoning_effort"
    template_kwargs: str = "chat_template_kwargs"
    max_tokens: str = "max_tokens"
    prompt: str = "prompt"
    stop: str = "stop"
    # the field of a tool (under ToolDef.param) that holds its JSON Schema (Messages: input_schema)
    tool_schema: str = "parameters"


@dataclass(frozen=True)
class Sampling:
    """Sampling as the client asked for it; None: the default. Checked by the pipeline."""

    max_tokens: int | None = None  # None: the rest of the context
    # max_tokens is an upper bound (Responses' max_output_tokens) rather than a demand (chat's
    # max_tokens, refused when it cannot fit): clamp it to the room the prompt leaves
    clamp_max_tokens: bool = False
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    seed: int | None = None
    logit_bias: dict[str, float] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repetition_penalty: float | None = None
    logprobs: bool = False
    top_logprobs: int | None = None
    stop: list[str] = field(default_factory=list)
    stop_token_ids: tuple[int, ...] = ()
    ignore_eos: bool = False
    include_stop: bool = False
    skip_special_tokens: bool = True


class SamplingFields(Protocol):
    """The sampling fields Chat Completions and Completions share (OpenAI's and vLLM's)."""

    temperature: float | None
    top_p: float | None
    top_k: int | None
    min_p: float | None
    seed: int | None
    logit_bias: dict[str, float] | None
    presence_penalty: float | None
    frequency_penalty: float | None
    repetition_penalty: float | None
    stop: str | list[str] | None
    stop_token_ids: list[int] | None
    ignore_eos: bool | None
    include_stop_str_in_output: bool | None
    skip_special_tokens: bool | None


def sampling_from(
    req: SamplingFields, max_tokens: int | None, logprobs: bool, top_logprobs: int | None
) -> Sampling:
    """`Sampling` from a body with those fields; the route says how it spells the rest."""
    return Sampling(
        max_tokens=max_tokens,
        temperature=req.temperature,
        top_p=req.top_p,
        top_k=req.top_k,
        min_p=req.min_p,
        seed=req.seed,
        logit_bias=req.logit_bias,
        presence_penalty=req.presence_penalty,
        frequency_penalty=req.frequency_penalty,
        repetition_penalty=req.repetition_penalty,
        logprobs=logprobs,
        top_logprobs=top_logprobs,
        stop=[req.stop] if isinstance(req.stop, str) else list(req.stop or []),
        stop_token_ids=tuple(req.stop_token_ids or ()),
        ignore_eos=bool(req.ignore_eos),
        include_stop=bool(req.include_stop_str_in_output),
        skip_special_tokens=req.skip_special_tokens is not False,
    )


@dataclass
class PipelineRequest:
    """One generation, whichever API asked for it.

    messages: chat-shaped ({"role", "content", "tool_calls", "tool_call_id", ...}), already
        translated from the wire; the pipeline renders them with the model's template.
    model: the model the client named (404 when not served); None skips the check (a
        follow-up generation of a request already checked).
    tools: the functions the model may call now: a ToolDef is checked here, a ToolSpec was
        checked by whoever provides it (server-side tools); `render_tools` are the tool objects
        the template shows (chat shape), which may be more than may be called now.
    tool_choice: auto | none | required | named (then `named`); None: auto with tools, else none.
    response_format: chat's `response_format` shape; structured_outputs: vLLM's extra.
    prompt: a raw prompt (Completions: text, or token ids) instead of messages: no chat
        template, no tools, and the output is all text (nothing is read as a call or reasoning).
    body: the client's body as JSON values, scanned for text no tokenizer can take.
    """

    messages: list[dict[str, Any]]
    model: str | None = None
    tools: tuple[ToolDef | ToolSpec, ...] = ()
    render_tools: list[dict[str, Any]] | None = None
    tool_choice: Mode | None = None
    named: str | None = None
    parallel_tool_calls: bool = True
    response_format: dict[str, Any] | None = None
    structured_outputs: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    template_kwargs: dict[str, Any] = field(default_factory=dict)
    sampling: Sampling = field(default_factory=Sampling)
    prompt: str | list[int] | None = None
    body: Any = None
    id_prefix: str = "chatcmpl"
    params: Params = field(default_factory=Params)
