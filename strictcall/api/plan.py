"""From a validated request to a generation plan: prompt ids, grammar, sampling, parser.

Every refusal here names the field at fault; nothing the client sent is ignored silently.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from strictcall.api.errors import APIError
from strictcall.api.limits import check_request
from strictcall.api.schemas import ChatCompletionRequest
from strictcall.api.state import AppState
from strictcall.chat.render import Prompt, TemplateError, render
from strictcall.engines.base import GenerationRequest, SamplingParams
from strictcall.formats import ConstraintSpec, ToolSpec
from strictcall.formats.constraint import TOOL_NAME
from strictcall.formats.parser import StreamParser
from strictcall.formats.types import DeltaParser, openai_call_id
from strictcall.grammar.matchers import LarkMemo
from strictcall.grammar.response_format import (
    FormatError,
    from_response_format,
    from_structured_outputs,
)
from strictcall.grammar.schema import SchemaError, check_tool_parameters

# Lark by constraint: an agent sends the same tools every turn (grammar/matchers.py)
LARKS = LarkMemo()

_ROLES = {"system", "developer", "user", "assistant", "tool"}


@dataclass
class ChatPlan:
    request_id: str
    prompt: Prompt
    generation: GenerationRequest
    # what may be called: the parser reads calls by name and schema (and a family reads
    # `native` built-in tools its own way)
    tools: tuple[ToolSpec, ...]
    mode: str
    stop: list[str]
    include_stop: bool
    logprobs: bool
    state: AppState
    grammar_s: float = 0.0  # time spent writing the grammar (the engine then compiles it)
    started: float = 0.0  # time.monotonic() when the request arrived
    content_rule: bool = False  # a response format governs the answer text

    def parser(self) -> DeltaParser:
        fmt = self.state.fmt
        if fmt is None:
            return StreamParser(None, None, in_reasoning=False, new_id=openai_call_id)
        # no tools were offered (or none may be called): nothing is read as a call
        return fmt.stream(
            self.tools,
            reasoning=self.state.reasoning is not None,
            in_reasoning=self.prompt.in_reasoning,
            calls=bool(self.tools) and self.mode != "none",
            # the grammar is `answer: content | calls` under a response format: a call spelled
            # inside the answer text is text
            calls_at_start=self.content_rule,
            validate=True,  # a safety net: the grammar already makes every call valid
        )


@dataclass
class PlanInput:
    """What one generation needs, whichever API asked for it (chat completions, responses).

    `tools` are what the grammar lets the model call; `render_tools` are the tool objects the
    chat template shows (OpenAI chat shape), which may be more than may be called now.
    `sampling.max_tokens == 0` means "the rest of the context".
    """

    messages: list[dict[str, Any]]
    sampling: SamplingParams
    tools: tuple[ToolSpec, ...] = ()
    render_tools: list[dict[str, Any]] | None = None
    mode: str = "none"
    named: str | None = None
    parallel: bool = True
    content: str | None = None  # a Lark rule for the answer (response_format)
    template_kwargs: dict[str, Any] = field(default_factory=dict)
    stop: list[str] = field(default_factory=list)
    include_stop: bool = False
    logprobs: bool = False
    skip_special_tokens: bool = True
    id_prefix: str = "chatcmpl"
    messages_param: str = "messages"  # the request field errors about the prompt name
    # max_tokens is an upper bound (Responses' max_output_tokens) rather than a demand (chat's
    # max_tokens, refused when it cannot fit): clamp it to the room the prompt leaves
    clamp_to_context: bool = False


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
        spec = check_tool(fn.name, fn.parameters, param, state)
        if fn.name in seen:
            raise APIError(
                f"Duplicate tool name {fn.name!r}",
                param=f"{param}.name",
                code="duplicate_tool_name",
            )
        seen.add(fn.name)
        specs.append(spec)
    return tuple(specs)


def check_tool(name: str, parameters: Any, where: str, state: AppState) -> ToolSpec:
    """A client's function tool as the grammar will enforce it, or a 400 naming the field
    under `where` (the tool's own path in the request) that is wrong."""
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
            param=f"{where}.parameters",
            code="invalid_tool_schema",
        ) from None


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


def call_triggers(state: AppState, callable_tools: bool) -> list[str]:
    """Texts the answer may not spell while calls are possible: a call written in the answer
    text would be read as a call no tool schema constrained."""
    if not callable_tools or state.fmt is None:
        return []
    return list(dict.fromkeys(s.trigger for s in state.fmt.syntaxes if s.trigger))


def _content_rule(req: ChatCompletionRequest, exclude: list[str]) -> str | None:
    try:
        if req.response_format is not None:
            return from_response_format(req.response_format.model_dump(by_alias=True), exclude)
        if req.structured_outputs is not None:
            so = req.structured_outputs.model_dump(by_alias=True)
            return from_structured_outputs(so, exclude)
    except FormatError as exc:
        raise APIError(str(exc), param=exc.param, code="invalid_response_format") from None
    return None


def _reasoning_effort(req: ChatCompletionRequest, state: AppState) -> str | None:
    """The effort the client asked for (chat_template_kwargs, then the request field), refused
    by name when the family does not know that level. The server's default is applied in
    make_plan, for every API."""
    kwargs = req.chat_template_kwargs or {}
    if kwargs.get("reasoning_effort") is not None:
        effort, param = kwargs["reasoning_effort"], "chat_template_kwargs.reasoning_effort"
    else:
        effort, param = req.reasoning_effort, "reasoning_effort"
    allowed = state.fmt.reasoning_efforts if state.fmt is not None else ()
    if effort is not None and allowed and effort not in allowed:
        raise APIError(
            f"reasoning_effort {effort!r} is not supported by this model; use one of "
            + ", ".join(allowed),
            param=param,
            code="unsupported_value",
        )
    return effort


def _turn_end_ids(state: AppState) -> tuple[int, ...]:
    """The family's end-of-turn tokens (gpt-oss: <|return|>, <|call|>), in case the model's
    generation_config does not list them all."""
    if state.fmt is None:
        return ()
    tokens = state.tokenizer.special_tokens
    return tuple(tokens[t] for t in state.fmt.turn_ends if t in tokens)


def _sampling(req: ChatCompletionRequest, state: AppState) -> SamplingParams:
    bias: dict[int, float] = {}
    for key, value in (req.logit_bias or {}).items():
        if not key.lstrip("-").isdigit() or not 0 <= int(key) < state.engine.vocab:
            raise APIError(f"logit_bias key {key!r} is not a token id", param="logit_bias")
        if not -100 <= value <= 100:
            raise APIError("logit_bias values must be between -100 and 100", param="logit_bias")
        bias[int(key)] = value
    temperature = 1.0 if req.temperature is None else req.temperature
    return SamplingParams(
        max_tokens=req.max_completion_tokens or req.max_tokens or 0,
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


def _fit_context(
    sampling: SamplingParams, state: AppState, prompt_len: int, param: str, clamp: bool = False
) -> SamplingParams:
    limit = state.engine.max_model_len
    if prompt_len >= limit:
        raise APIError(
            f"This model's maximum context length is {limit} tokens. However, your messages "
            f"resulted in {prompt_len} tokens. Please reduce the length of the messages.",
            param=param,
            code="context_length_exceeded",
        )
    room = limit - prompt_len
    if sampling.max_tokens and not (clamp and sampling.max_tokens > room):
        return sampling
    return dataclasses.replace(sampling, max_tokens=room)


def _stops(req: ChatCompletionRequest) -> list[str]:
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stop) > 16:
        raise APIError("at most 16 stop sequences are supported", param="stop")
    if any(not s for s in stop):
        raise APIError("stop sequences must not be empty", param="stop")
    return stop


def build_plan(req: ChatCompletionRequest, state: AppState) -> ChatPlan:
    check_request(req, state.config)
    _refuse_unsupported(req)
    check_model(req.model, state)
    _check_messages(req.messages)
    tools = _check_tools(req, state)
    mode, named = _tool_choice(req, tools)
    content = _content_rule(req, call_triggers(state, bool(tools) and mode != "none"))
    stops = _stops(req)
    sampling = _sampling(req, state)

    show_tools = tools and not (mode == "none" and state.config.exclude_tools_when_tool_choice_none)
    kwargs = dict(req.chat_template_kwargs or {})
    effort = _reasoning_effort(req, state)
    if effort is not None:
        kwargs["reasoning_effort"] = effort
    return make_plan(
        PlanInput(
            messages=req.messages,
            sampling=sampling,
            tools=tools,
            render_tools=[t.model_dump(exclude_none=True) for t in req.tools or []]
            if show_tools
            else None,
            mode=mode,
            named=named,
            parallel=req.parallel_tool_calls is not False,
            content=content,
            template_kwargs=kwargs,
            stop=stops,
            include_stop=bool(req.include_stop_str_in_output),
            logprobs=bool(req.logprobs),
            skip_special_tokens=req.skip_special_tokens is not False,
        ),
        state,
    )


def check_model(model: str, state: AppState) -> None:
    if model not in state.model_names:
        raise APIError(
            f"The model '{model}' does not exist.",
            status=404,
            param="model",
            code="model_not_found",
        )


def make_plan(inp: PlanInput, state: AppState) -> ChatPlan:
    """Render the prompt, fit it in the context and build the grammar: the shared half."""
    if inp.tools and state.fmt is None:
        raise APIError(
            "This server could not tell which tool-call format the model uses, so it cannot "
            "accept tools; restart it with --tool-format NAME (see `strictcall formats`).",
            param="tools",
            code="tool_format_unknown",
        )
    kwargs = dict(inp.template_kwargs)
    if kwargs.get("reasoning_effort") is None and state.config.reasoning_effort is not None:
        kwargs["reasoning_effort"] = state.config.reasoning_effort  # the server's default
    try:
        prompt = render(
            state.tokenizer,
            inp.messages,
            inp.render_tools or None,
            reasoning=state.reasoning,
            template_kwargs=kwargs,
            call_id=state.fmt.prompt_call_id if state.fmt is not None else None,
            renderer=state.fmt.renderer if state.fmt is not None else None,
        )
    except TemplateError as exc:
        raise APIError(str(exc), param=inp.messages_param, code="template_error") from None
    sampling = _fit_context(
        inp.sampling, state, len(prompt.ids), inp.messages_param, inp.clamp_to_context
    )
    if not sampling.ignore_eos:
        ends = tuple(t for t in _turn_end_ids(state) if t not in sampling.stop_token_ids)
        sampling = dataclasses.replace(sampling, stop_token_ids=sampling.stop_token_ids + ends)

    grammar = None
    t0 = time.perf_counter()
    if state.fmt is not None and (inp.tools or inp.content is not None):
        spec = ConstraintSpec(
            tools=inp.tools,
            mode=inp.mode,  # type: ignore[arg-type]
            named=inp.named,
            parallel=inp.parallel,
            reasoning=state.reasoning is not None,
            in_reasoning=prompt.in_reasoning,
            content=inp.content,
            special_tokens=state.tokenizer.special_tokens,
        )
        try:
            fmt = state.fmt
            grammar = LARKS.lark(fmt, spec, lambda: fmt.grammar(spec))
        except SchemaError as exc:  # a schema this format's syntax cannot enforce
            raise APIError(
                f"Invalid schema for the {state.fmt.name} tool format: {exc}",
                param="tools",
                code="invalid_tool_schema",
            ) from None
    elif inp.content is not None:
        grammar = f"start: answer\nanswer: {inp.content}\n"

    request_id = f"{inp.id_prefix}-{uuid.uuid4().hex}"
    generation = GenerationRequest(
        request_id=request_id,
        prompt_ids=prompt.ids,
        sampling=sampling,
        grammar=grammar,
        hidden_token_ids=state.hidden_token_ids if inp.skip_special_tokens else frozenset(),
    )
    return ChatPlan(
        request_id=request_id,
        prompt=prompt,
        generation=generation,
        tools=inp.tools,
        mode=inp.mode,
        stop=inp.stop,
        include_stop=inp.include_stop,
        logprobs=inp.logprobs,
        state=state,
        grammar_s=time.perf_counter() - t0 if grammar is not None else 0.0,
        content_rule=inp.content is not None,
    )
