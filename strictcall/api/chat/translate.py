"""A chat completion body -> a PipelineRequest: chat's own fields checked, the rest passed on.

Only what is particular to the chat wire shape is refused here (its message shape, fields this
server does not implement); every generation check is the pipeline's.
"""

from __future__ import annotations

from typing import Any

from strictcall.api.errors import APIError
from strictcall.api.pipeline import Mode, PipelineRequest, ToolDef, sampling_from
from strictcall.api.schemas import ChatCompletionRequest, NamedToolChoice

_ROLES = {"system", "developer", "user", "assistant", "tool"}
# what a message may carry; the OpenAI SDK's model_dump() of an assistant message sends the
# last four as None (annotations: [] or its url citations, output metadata the model never sees)
_MESSAGE_FIELDS = {
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "reasoning_content",
    "reasoning",
    "refusal",
    "annotations",
    "audio",
    "function_call",
}


def to_pipeline(req: ChatCompletionRequest) -> PipelineRequest:
    _refuse_unsupported(req)
    messages = [_message(m, i) for i, m in enumerate(req.messages)]
    tools = tuple(
        ToolDef(t.function.name, t.function.parameters, f"tools[{i}].function")
        for i, t in enumerate(req.tools or [])
    )
    wire = req.tool_choice
    choice: Mode | None = None
    named = None
    if isinstance(wire, NamedToolChoice):
        choice, named = "named", wire.function.name
    elif wire is not None:
        choice = wire
    return PipelineRequest(
        messages=messages,
        model=req.model,
        tools=tools,
        render_tools=[t.model_dump(exclude_none=True) for t in req.tools or []] or None,
        tool_choice=choice,
        named=named,
        parallel_tool_calls=req.parallel_tool_calls is not False,
        response_format=req.response_format.model_dump(by_alias=True)
        if req.response_format is not None
        else None,
        structured_outputs=req.structured_outputs.model_dump(by_alias=True)
        if req.structured_outputs is not None
        else None,
        reasoning_effort=req.reasoning_effort,
        template_kwargs=dict(req.chat_template_kwargs or {}),
        sampling=sampling_from(
            req, req.max_completion_tokens or req.max_tokens, bool(req.logprobs), req.top_logprobs
        ),
        body=req.model_dump(by_alias=True, exclude_none=True),
        id_prefix="chatcmpl",
    )


def _refuse_unsupported(req: ChatCompletionRequest) -> None:
    if req.n not in (None, 1):
        raise APIError("only n=1 is supported", param="n", code="unsupported_value")
    if req.functions is not None or req.function_call is not None:
        param = "functions" if req.functions is not None else "function_call"
        raise APIError(
            f"'{param}' is deprecated and not supported; use 'tools' and 'tool_choice'",
            param=param,
        )
    for name in ("audio", "prediction", "web_search_options"):
        if getattr(req, name) is not None:
            raise APIError(f"'{name}' is not supported by this server", param=name)
    if req.modalities and set(req.modalities) != {"text"}:
        raise APIError("only the text modality is supported", param="modalities")
    if req.store:
        raise APIError("stored chat completions are not supported (store=true)", param="store")
    if req.verbosity not in (None, "medium"):
        raise APIError(
            "verbosity is not supported: this server cannot make a model terser or wordier "
            "(leave it unset or 'medium'; bound the length with max_completion_tokens)",
            param="verbosity",
        )
    if req.service_tier not in (None, "auto", "default"):
        raise APIError(f"service_tier {req.service_tier!r} is not supported", param="service_tier")
    if req.stream_options is not None and not req.stream:
        raise APIError("stream_options is only allowed when stream is true", param="stream_options")


def _message(m: dict[str, Any], i: int) -> dict[str, Any]:
    """One message checked; the fields an SDK sends empty (None) are dropped."""
    where = f"messages[{i}]"
    for key in m:
        if key not in _MESSAGE_FIELDS:
            raise APIError(f"Unrecognized field in {where}: {key}", param=f"{where}.{key}")
    role = m.get("role")
    if role not in _ROLES:
        raise APIError(
            f"{where}.role must be one of {', '.join(sorted(_ROLES))}", param=f"{where}.role"
        )
    for key in ("audio", "function_call"):
        if m.get(key) is not None:
            raise APIError(
                f"{where}.{key} is not supported: send text, and calls as tool_calls",
                param=f"{where}.{key}",
            )
    annotations = m.get("annotations")
    if annotations is not None and not isinstance(annotations, list):
        raise APIError(f"{where}.annotations must be a list", param=f"{where}.annotations")
    content = m.get("content")
    if isinstance(content, list):
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text":
                raise APIError(
                    f"{where}.content[{j}]: only text content parts are supported",
                    param=f"{where}.content[{j}]",
                )
            if not isinstance(part.get("text"), str):
                raise APIError(
                    f"{where}.content[{j}].text must be a string",
                    param=f"{where}.content[{j}].text",
                )
    elif content is not None and not isinstance(content, str):
        raise APIError(
            f"{where}.content must be a string or a list of parts", param=f"{where}.content"
        )
    if role == "tool" and not isinstance(m.get("tool_call_id"), str):
        raise APIError(f"{where}: a tool message needs tool_call_id", param=f"{where}.tool_call_id")
    if role != "assistant" and content is None:
        raise APIError(f"{where}.content is required for role {role!r}", param=f"{where}.content")
    calls = m.get("tool_calls")
    if calls is not None:
        if role != "assistant" or not isinstance(calls, list):
            raise APIError(
                f"{where}.tool_calls must be a list on an assistant message",
                param=f"{where}.tool_calls",
            )
        for j, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise APIError(
                    f"{where}.tool_calls[{j}].function.name is required",
                    param=f"{where}.tool_calls[{j}].function",
                )
            if not isinstance(fn.get("arguments", ""), str | dict):
                raise APIError(
                    f"{where}.tool_calls[{j}].function.arguments must be a JSON string",
                    param=f"{where}.tool_calls[{j}].function.arguments",
                )
    # the template sees the conversation, not the SDK's empty or output-only fields
    skip = {"annotations", "audio", "function_call"}
    return {k: v for k, v in m.items() if k not in skip and (v is not None or k == "content")}
