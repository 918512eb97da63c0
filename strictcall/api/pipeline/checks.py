"""The checks every request goes through, whichever API it came in by.

Each refusal is a 4xx naming the wire field at fault (`Params`); nothing the client sent is
ignored silently.
"""

from __future__ import annotations

from typing import Any

from strictcall.api.errors import APIError
from strictcall.api.pipeline.request import Mode, PipelineRequest, Sampling, ToolDef
from strictcall.api.state import AppState
from strictcall.engines.base import SamplingParams
from strictcall.formats import ToolSpec
from strictcall.formats.constraint import TOOL_NAME
from strictcall.grammar.response_format import (
    FormatError,
    from_response_format,
    from_structured_outputs,
)
from strictcall.grammar.schema import SchemaError, check_tool_parameters


def check_model(model: str, state: AppState) -> None:
    if model not in state.model_names:
        raise APIError(
            f"The model '{model}' does not exist.",
            status=404,
            param="model",
            code="model_not_found",
        )


def check_tool(
    name: str, parameters: Any, where: str, state: AppState, schema_field: str = "parameters"
) -> ToolSpec:
    """A function tool as the grammar will enforce it, or a 400 naming the field under `where`
    (the tool's own path in the request; its schema under `schema_field`) that is wrong."""
    if not TOOL_NAME.match(name):
        raise APIError(
            f"Invalid tool name {name!r}: use letters, digits, '_', '-' and '.', "
            "at most 64 characters",
            param=f"{where}.name",
            code="invalid_tool_name",
        )
    try:
        return ToolSpec(name, check_tool_parameters(parameters, state.config.schema_limits))
    except SchemaError as exc:
        raise APIError(
            f"Invalid schema for tool {name!r}: {exc}",
            param=f"{where}.{schema_field}",
            code="invalid_tool_schema",
        ) from None


def check_tools(
    tools: tuple[ToolDef | ToolSpec, ...], state: AppState, schema_field: str = "parameters"
) -> tuple[ToolSpec, ...]:
    """Each ToolDef checked (name, schema, no name twice); a ToolSpec was checked by whoever
    provides it (a server-side tool, or a client's tool on an earlier generation)."""
    specs: list[ToolSpec] = []
    seen: set[str] = set()
    for tool in tools:
        if isinstance(tool, ToolSpec):
            spec, param = tool, "tools"
        else:
            spec = check_tool(tool.name, tool.parameters, tool.param, state, schema_field)
            param = tool.param
            if tool.native:
                spec = ToolSpec(spec.name, spec.parameters, native=True)
        if spec.name in seen:
            raise APIError(
                f"Duplicate tool name {spec.name!r}",
                param=f"{param}.name",
                code="duplicate_tool_name",
            )
        seen.add(spec.name)
        specs.append(spec)
    return tuple(specs)


def tool_choice(req: PipelineRequest, tools: tuple[ToolSpec, ...]) -> tuple[Mode, str | None]:
    where = req.params.tool_choice
    choice = req.tool_choice
    if choice is None:
        return ("auto" if tools else "none"), None
    if choice == "required" and not tools:
        raise APIError(f"tool_choice {req.params.required!r} needs at least one tool", param=where)
    if choice != "named":
        return choice, None
    name = req.named
    if not tools:
        raise APIError(f"tool_choice names {name!r} but no tools were given", param=where)
    if name not in {t.name for t in tools}:
        raise APIError(
            f"tool_choice names {name!r}, which is not among the tools",
            param=req.params.named_tool,
        )
    return "named", name


def call_triggers(state: AppState, callable_tools: bool) -> list[str]:
    """Texts the answer may not spell while calls are possible: a call written in the answer
    text would be read as a call no tool schema constrained."""
    if not callable_tools or state.fmt is None:
        return []
    return list(dict.fromkeys(s.trigger for s in state.fmt.syntaxes if s.trigger))


def content_rule(req: PipelineRequest, exclude: list[str]) -> str | None:
    """The Lark rule for the answer a response format asks for (None: free text)."""
    params = req.params
    if req.response_format is not None and req.structured_outputs is not None:
        raise APIError(
            f"give either {params.response_format} or {params.structured_outputs}, not both",
            param=params.structured_outputs,
        )
    try:
        if req.response_format is not None:
            return from_response_format(req.response_format, exclude)
        if req.structured_outputs is not None:
            return from_structured_outputs(req.structured_outputs, exclude)
    except FormatError as exc:
        # the grammar layer speaks chat's field names; say the caller's
        param, message = exc.param, str(exc)
        for ours, theirs in (
            ("response_format.json_schema", params.json_schema),
            ("response_format", params.response_format),
            ("structured_outputs", params.structured_outputs),
        ):
            if param.startswith(ours):
                param, message = theirs + param[len(ours) :], message.replace(ours, theirs)
                break
        raise APIError(message, param=param, code="invalid_response_format") from None
    return None


def reasoning_effort(req: PipelineRequest, state: AppState) -> str | None:
    """The effort the client asked for (template kwargs, then the request field), refused by
    name when the family does not know that level. The server's default is applied when the
    prompt is rendered, for every API."""
    params = req.params
    if req.template_kwargs.get("reasoning_effort") is not None:
        effort = req.template_kwargs["reasoning_effort"]
        param = f"{params.template_kwargs}.reasoning_effort"
    else:
        effort, param = req.reasoning_effort, params.reasoning_effort
    allowed = state.fmt.reasoning_efforts if state.fmt is not None else ()
    if effort is not None and allowed and effort not in allowed:
        raise APIError(
            f"reasoning_effort {effort!r} is not supported by this model; use one of "
            + ", ".join(allowed),
            param=param,
            code="unsupported_value",
        )
    return effort


def history(req: PipelineRequest, state: AppState) -> None:
    """Refuse, naming it, a message the chat template would leave out of the prompt (a tool
    result, where the template writes none) instead of losing it silently."""
    if state.rendering is None or state.rendering.tool_results or state.fmt_renders:
        return
    for i, message in enumerate(req.messages):
        if message.get("role") == "tool":
            raise APIError(
                f"{req.params.messages}[{i}] is a tool result, which this model's chat template "
                "does not render (it would be left out of the prompt)",
                param=f"{req.params.messages}[{i}]",
                code="template_error",
            )


def stops(sampling: Sampling, param: str = "stop") -> list[str]:
    if len(sampling.stop) > 16:
        raise APIError("at most 16 stop sequences are supported", param=param)
    if any(not s for s in sampling.stop):
        raise APIError("stop sequences must not be empty", param=param)
    return list(sampling.stop)


def sampling_params(s: Sampling, state: AppState) -> SamplingParams:
    """The engine's sampling settings (max_tokens 0: the rest of the context)."""
    if s.top_logprobs is not None and not s.logprobs:
        raise APIError("top_logprobs requires logprobs=true", param="top_logprobs")
    bias: dict[int, float] = {}
    for key, value in (s.logit_bias or {}).items():
        if not key.lstrip("-").isdigit() or not 0 <= int(key) < state.engine.vocab:
            raise APIError(f"logit_bias key {key!r} is not a token id", param="logit_bias")
        if not -100 <= value <= 100:
            raise APIError("logit_bias values must be between -100 and 100", param="logit_bias")
        bias[int(key)] = value
    return SamplingParams(
        max_tokens=s.max_tokens or 0,
        temperature=1.0 if s.temperature is None else s.temperature,
        top_p=1.0 if s.top_p is None else s.top_p,
        top_k=max(s.top_k or 0, 0),
        min_p=s.min_p or 0.0,
        seed=s.seed,
        logit_bias=bias or None,
        presence_penalty=s.presence_penalty or 0.0,
        frequency_penalty=s.frequency_penalty or 0.0,
        repetition_penalty=s.repetition_penalty or 1.0,
        logprobs=(s.top_logprobs or 0) if s.logprobs else None,
        stop_token_ids=tuple(s.stop_token_ids),
        ignore_eos=s.ignore_eos,
    )
