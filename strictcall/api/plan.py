"""From a validated request to a generation plan: prompt ids, grammar, sampling, parser.

Every refusal here names the field at fault; nothing the client sent is ignored silently.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from strictcall.api.errors import APIError
from strictcall.api.schemas import ChatCompletionRequest
from strictcall.api.state import AppState
from strictcall.chat.render import Prompt, TemplateError, render
from strictcall.engines.base import GenerationRequest, SamplingParams
from strictcall.formats import ConstraintSpec, ToolSpec
from strictcall.formats.parser import StreamParser
from strictcall.formats.types import openai_call_id
from strictcall.grammar.response_format import (
    FormatError,
    from_response_format,
    from_structured_outputs,
)
from strictcall.grammar.schema import SchemaError, check_schema, normalize_parameters

# OpenAI allows letters, digits, `_` and `-` (64 at most); `.` is accepted too, as real tool
# sets (BFCL's `math.factorial`) use it.
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_ROLES = {"system", "developer", "user", "assistant", "tool"}


@dataclass
class ChatPlan:
    request_id: str
    prompt: Prompt
    generation: GenerationRequest
    tool_names: set[str]
    mode: str
    stop: list[str]
    include_stop: bool
    logprobs: bool
    state: AppState
    tools: tuple[ToolSpec, ...] = ()

    def parser(self) -> StreamParser:
        fmt = self.state.fmt
        reasoning = self.state.reasoning
        # no tools were offered (or none may be called): nothing is read as a call
        if fmt is not None and self.tool_names and self.mode != "none":
            return fmt.stream(
                self.tools, reasoning=reasoning is not None, in_reasoning=self.prompt.in_reasoning
            )
        return StreamParser(
            None,
            reasoning,
            tools=self.tool_names,
            in_reasoning=self.prompt.in_reasoning,
            new_id=fmt.new_id if fmt is not None else openai_call_id,
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
    if req.service_tier not in (None, "auto", "default"):
        raise APIError(f"service_tier {req.service_tier!r} is not supported", param="service_tier")
    if req.top_logprobs is not None and not req.logprobs:
        raise APIError("top_logprobs requires logprobs=true", param="top_logprobs")
    if req.response_format is not None and req.structured_outputs is not None:
        raise APIError(
            "give either response_format or structured_outputs, not both",
            param="structured_outputs",
        )


def _check_messages(messages: list[dict[str, Any]]) -> None:
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        role = m.get("role")
        if role not in _ROLES:
            raise APIError(
                f"{where}.role must be one of {', '.join(sorted(_ROLES))}", param=f"{where}.role"
            )
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
            raise APIError(
                f"{where}: a tool message needs tool_call_id", param=f"{where}.tool_call_id"
            )
        if role != "assistant" and content is None:
            raise APIError(
                f"{where}.content is required for role {role!r}", param=f"{where}.content"
            )
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
        allowed = {
            "role",
            "content",
            "name",
            "tool_calls",
            "tool_call_id",
            "refusal",
            "reasoning_content",
            "reasoning",
            "audio",
            "function_call",
        }
        for key in m:
            if key not in allowed:
                raise APIError(f"Unrecognized field in {where}: {key}", param=f"{where}.{key}")


def _check_tools(req: ChatCompletionRequest, state: AppState) -> tuple[ToolSpec, ...]:
    specs: list[ToolSpec] = []
    seen: set[str] = set()
    for i, tool in enumerate(req.tools or []):
        fn = tool.function
        param = f"tools[{i}].function"
        if not TOOL_NAME.match(fn.name):
            raise APIError(
                f"Invalid tool name {fn.name!r}: use letters, digits, '_', '-' and '.', "
                "at most 64 characters",
                param=f"{param}.name",
                code="invalid_tool_name",
            )
        if fn.name in seen:
            raise APIError(
                f"Duplicate tool name {fn.name!r}",
                param=f"{param}.name",
                code="duplicate_tool_name",
            )
        seen.add(fn.name)
        parameters = fn.parameters
        try:
            if parameters is not None:
                check_schema(parameters, state.config.schema_limits)
                if parameters.get("type", "object") != "object":
                    raise SchemaError(
                        "type", "#", "tool parameters must be a JSON Schema of type object"
                    )
            specs.append(ToolSpec(fn.name, normalize_parameters(parameters)))
        except SchemaError as exc:
            raise APIError(
                f"Invalid schema for tool {fn.name!r}: {exc}",
                param=f"{param}.parameters",
                code="invalid_tool_schema",
            ) from None
    return tuple(specs)


def _tool_choice(req: ChatCompletionRequest, tools: tuple[ToolSpec, ...]) -> tuple[str, str | None]:
    choice = req.tool_choice
    if choice is None:
        return ("auto" if tools else "none"), None
    if isinstance(choice, str):
        if choice == "required" and not tools:
            raise APIError("tool_choice 'required' needs at least one tool", param="tool_choice")
        return choice, None
    name = choice.function.name
    if not tools:
        raise APIError(f"tool_choice names {name!r} but no tools were given", param="tool_choice")
    if name not in {t.name for t in tools}:
        raise APIError(
            f"tool_choice names {name!r}, which is not among the tools",
            param="tool_choice.function.name",
        )
    return "named", name


def _content_rule(req: ChatCompletionRequest) -> str | None:
    try:
        if req.response_format is not None:
            return from_response_format(req.response_format.model_dump(by_alias=True))
        if req.structured_outputs is not None:
            return from_structured_outputs(req.structured_outputs.model_dump(by_alias=True))
    except FormatError as exc:
        raise APIError(str(exc), param=exc.param, code="invalid_response_format") from None
    return None


def _sampling(req: ChatCompletionRequest, state: AppState, prompt_len: int) -> SamplingParams:
    limit = state.engine.max_model_len
    if prompt_len >= limit:
        raise APIError(
            f"This model's maximum context length is {limit} tokens. However, your messages "
            f"resulted in {prompt_len} tokens. Please reduce the length of the messages.",
            param="messages",
            code="context_length_exceeded",
        )
    max_tokens = req.max_completion_tokens or req.max_tokens
    if max_tokens is None:
        max_tokens = limit - prompt_len
    bias: dict[int, float] = {}
    for key, value in (req.logit_bias or {}).items():
        if not key.lstrip("-").isdigit() or not 0 <= int(key) < state.engine.vocab:
            raise APIError(f"logit_bias key {key!r} is not a token id", param="logit_bias")
        if not -100 <= value <= 100:
            raise APIError("logit_bias values must be between -100 and 100", param="logit_bias")
        bias[int(key)] = value
    temperature = 1.0 if req.temperature is None else req.temperature
    return SamplingParams(
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=1.0 if req.top_p is None else req.top_p,
        top_k=max(req.top_k or 0, 0),
        min_p=req.min_p or 0.0,
        seed=req.seed,
        logit_bias=bias or None,
        presence_penalty=req.presence_penalty or 0.0,
        frequency_penalty=req.frequency_penalty or 0.0,
        repetition_penalty=req.repetition_penalty or 1.0,
        logprobs=(req.top_logprobs or 0) if req.logprobs else None,
        stop_token_ids=tuple(req.stop_token_ids or ()),
        ignore_eos=bool(req.ignore_eos),
    )


def _stops(req: ChatCompletionRequest) -> list[str]:
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stop) > 16:
        raise APIError("at most 16 stop sequences are supported", param="stop")
    if any(not s for s in stop):
        raise APIError("stop sequences must not be empty", param="stop")
    return stop


def build_plan(req: ChatCompletionRequest, state: AppState) -> ChatPlan:
    _refuse_unsupported(req)
    if req.model not in state.model_names:
        raise APIError(
            f"The model '{req.model}' does not exist.",
            status=404,
            param="model",
            code="model_not_found",
        )
    _check_messages(req.messages)
    tools = _check_tools(req, state)
    mode, named = _tool_choice(req, tools)
    if tools and state.fmt is None:
        raise APIError(
            "This server could not tell which tool-call format the model uses, so it cannot "
            "accept tools; restart it with --tool-format NAME (see `strictcall formats`).",
            param="tools",
            code="tool_format_unknown",
        )
    content = _content_rule(req)
    stops = _stops(req)

    show_tools = tools and not (mode == "none" and state.config.exclude_tools_when_tool_choice_none)
    kwargs = dict(req.chat_template_kwargs or {})
    if req.reasoning_effort is not None:
        kwargs.setdefault("reasoning_effort", req.reasoning_effort)
    try:
        prompt = render(
            state.tokenizer,
            req.messages,
            [t.model_dump(exclude_none=True) for t in req.tools or []] if show_tools else None,
            reasoning=state.reasoning,
            template_kwargs=kwargs,
        )
    except TemplateError as exc:
        raise APIError(str(exc), param="messages", code="template_error") from None
    sampling = _sampling(req, state, len(prompt.ids))

    grammar = None
    if state.fmt is not None and (tools or content is not None):
        spec = ConstraintSpec(
            tools=tools,
            mode=mode,  # type: ignore[arg-type]
            named=named,
            parallel=req.parallel_tool_calls is not False,
            reasoning=state.reasoning is not None,
            in_reasoning=prompt.in_reasoning,
            content=content,
            special_tokens=state.tokenizer.special_tokens,
        )
        try:
            grammar = state.fmt.grammar(spec)
        except SchemaError as exc:  # a schema this format's syntax cannot enforce
            raise APIError(
                f"Invalid schema for the {state.fmt.name} tool format: {exc}",
                param="tools",
                code="invalid_tool_schema",
            ) from None
    elif content is not None:
        grammar = f"start: answer\nanswer: {content}\n"

    request_id = f"chatcmpl-{uuid.uuid4().hex}"
    generation = GenerationRequest(
        request_id=request_id,
        prompt_ids=prompt.ids,
        sampling=sampling,
        grammar=grammar,
        hidden_token_ids=state.hidden_token_ids
        if req.skip_special_tokens is not False
        else frozenset(),
    )
    return ChatPlan(
        request_id=request_id,
        prompt=prompt,
        generation=generation,
        tool_names={t.name for t in tools},
        mode=mode,
        stop=stops,
        include_stop=bool(req.include_stop_str_in_output),
        logprobs=bool(req.logprobs),
        state=state,
        tools=tools,
    )
