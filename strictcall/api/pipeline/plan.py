"""From a checked request to a generation plan: prompt ids, grammar, sampling, parser."""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass

from strictcall.api.errors import APIError
from strictcall.api.pipeline import checks
from strictcall.api.pipeline.limits import check_limits
from strictcall.api.pipeline.request import Mode, Params, PipelineRequest
from strictcall.api.state import AppState
from strictcall.chat.render import Prompt, TemplateError, render
from strictcall.engines.base import GenerationRequest, SamplingParams
from strictcall.formats import ConstraintSpec, ToolSpec
from strictcall.formats.parser import StreamParser
from strictcall.formats.types import DeltaParser, openai_call_id
from strictcall.grammar.matchers import LarkMemo
from strictcall.grammar.schema import SchemaError

# Lark by constraint: an agent sends the same tools every turn (grammar/matchers.py)
LARKS = LarkMemo()


@dataclass
class Plan:
    request_id: str
    prompt: Prompt
    generation: GenerationRequest
    # what may be called: the parser reads calls by name and schema (and a family reads
    # `native` built-in tools its own way)
    tools: tuple[ToolSpec, ...]
    mode: Mode
    stop: list[str]
    include_stop: bool
    logprobs: bool
    state: AppState
    params: Params  # the wire names of the request's parts, for errors
    grammar_param: str  # the request field an invalid grammar came from
    grammar_s: float = 0.0  # time spent writing the grammar (the engine then compiles it)
    started: float = 0.0  # time.monotonic() when the request arrived
    content_rule: bool = False  # a response format governs the answer text
    raw: bool = False  # a raw prompt (Completions): the output is all text

    def parser(self) -> DeltaParser:
        fmt = self.state.fmt
        if fmt is None or self.raw:
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
            # a safety net: the grammar already makes every call valid (with --constrain off
            # calls come back as read, as measuring the grammar needs)
            validate=self.state.config.constrain,
            opened=fmt.opened_by(self.prompt.text),
        )


def plan_request(req: PipelineRequest, state: AppState) -> Plan:
    """Every check, then the plan: the prompt rendered and fitted, the grammar written.

    Blocking (templates, schemas): run it in a thread. Raises APIError naming the wire field.
    """
    check_limits(req, state.config)
    if req.model is not None:
        checks.check_model(req.model, state)
    tools = checks.check_tools(req.tools, state, req.params.tool_schema)
    mode, named = checks.tool_choice(req, tools)
    content = checks.content_rule(req, checks.call_triggers(state, bool(tools) and mode != "none"))
    stop = checks.stops(req.sampling, req.params.stop)
    sampling = checks.sampling_params(req.sampling, state)
    kwargs = dict(req.template_kwargs)
    effort = checks.reasoning_effort(req, state)
    if effort is None:
        effort = state.config.reasoning_effort  # the server's default
    if effort is not None:
        kwargs["reasoning_effort"] = effort
    if req.prompt is not None:
        return _raw_plan(req, state, stop, sampling, content)
    if tools and state.fmt is None:
        why = f" ({state.format_note})" if state.format_note else ""
        raise APIError(
            "This server could not tell which tool-call format the model uses, so it cannot "
            f"accept tools{why}; restart it with --tool-format NAME (see `strictcall formats`).",
            param=req.params.tools,
            code="tool_format_unknown",
        )
    checks.history(req, state)
    show = req.render_tools
    if mode == "none" and state.config.exclude_tools_when_tool_choice_none:
        show = None
    fmt = state.fmt
    try:
        prompt = render(
            state.tokenizer,
            req.messages,
            show or None,
            reasoning=state.reasoning,
            template_kwargs=kwargs,
            call_id=fmt.prompt_call_id if fmt is not None else None,
            renderer=fmt.renderer if fmt is not None else None,
        )
    except TemplateError as exc:
        raise APIError(str(exc), param=req.params.messages, code="template_error") from None
    sampling = _fit_context(sampling, state, len(prompt.ids), req)
    if not sampling.ignore_eos:
        ends = tuple(t for t in _turn_end_ids(state) if t not in sampling.stop_token_ids)
        sampling = dataclasses.replace(sampling, stop_token_ids=sampling.stop_token_ids + ends)

    grammar = None
    t0 = time.perf_counter()
    tools_grammar = bool(tools) and state.config.constrain  # --constrain off: parse only
    if fmt is not None and (tools_grammar or content is not None):
        spec = ConstraintSpec(
            tools=tools if tools_grammar else (),
            mode=mode if tools_grammar else "auto",
            named=named,
            parallel=req.parallel_tool_calls,
            reasoning=state.reasoning is not None,
            in_reasoning=prompt.in_reasoning,
            content=content,
            special_tokens=state.tokenizer.special_tokens,
            opened=fmt.opened_by(prompt.text),
        )
        try:
            grammar = LARKS.lark(fmt, spec, lambda: fmt.grammar(spec))
        except SchemaError as exc:  # a schema this format's syntax cannot enforce
            raise APIError(
                f"Invalid schema for the {fmt.name} tool format: {exc}",
                param=req.params.tools,
                code="invalid_tool_schema",
            ) from None
    elif content is not None:
        grammar = f"start: answer\nanswer: {content}\n"

    return _plan(req, state, prompt, tools, mode, stop, sampling, grammar, content is not None, t0)


def count_prompt_tokens(req: PipelineRequest, state: AppState) -> int:
    """The prompt's length in tokens, after the very checks a generation makes (a token count
    for a request that would be refused is that refusal). Blocking: run it in a thread."""
    return len(plan_request(req, state).prompt.ids)


def _raw_plan(
    req: PipelineRequest,
    state: AppState,
    stop: list[str],
    sampling: SamplingParams,
    content: str | None,
) -> Plan:
    """A prompt the client wrote itself: tokenized (text) or checked (ids), never templated."""
    param = req.params.prompt
    if req.tools:
        raise APIError("tools need messages, not a raw prompt", param=req.params.tools)
    if isinstance(req.prompt, str):
        # as vLLM: the tokenizer adds its special tokens (a BOS) to a completion prompt
        ids = list(state.tokenizer.hf.encode(req.prompt, add_special_tokens=True))
        text = req.prompt
    else:
        ids = list(req.prompt or [])
        vocab = state.engine.vocab
        bad = next((i for i, t in enumerate(ids) if not 0 <= t < vocab), None)
        if bad is not None:
            raise APIError(
                f"{param}[{bad}] = {ids[bad]} is not a token id (0 <= id < {vocab})",
                param=f"{param}[{bad}]",
            )
        text = state.tokenizer.hf.decode(ids)
    if not ids:
        raise APIError("the prompt is empty", param=param)
    prompt = Prompt(text, ids, in_reasoning=False)
    sampling = _fit_context(sampling, state, len(ids), req)
    t0 = time.perf_counter()
    grammar = f"start: answer\nanswer: {content}\n" if content is not None else None
    plan = _plan(req, state, prompt, (), "none", stop, sampling, grammar, content is not None, t0)
    plan.raw = True
    return plan


def _plan(
    req: PipelineRequest,
    state: AppState,
    prompt: Prompt,
    tools: tuple[ToolSpec, ...],
    mode: Mode,
    stop: list[str],
    sampling: SamplingParams,
    grammar: str | None,
    content: bool,
    t0: float,
) -> Plan:
    request_id = f"{req.id_prefix}-{uuid.uuid4().hex}"
    hidden = state.hidden_token_ids if req.sampling.skip_special_tokens else frozenset()
    generation = GenerationRequest(request_id, prompt.ids, sampling, grammar, hidden)
    params = req.params
    return Plan(
        request_id=request_id,
        prompt=prompt,
        generation=generation,
        tools=tools,
        mode=mode,
        stop=stop,
        include_stop=req.sampling.include_stop,
        logprobs=req.sampling.logprobs,
        state=state,
        grammar_param=params.structured_outputs
        if req.structured_outputs is not None
        else params.response_format,
        params=params,
        grammar_s=time.perf_counter() - t0 if grammar is not None else 0.0,
        content_rule=content,
    )


def _turn_end_ids(state: AppState) -> tuple[int, ...]:
    """The family's end-of-turn tokens (gpt-oss: <|return|>, <|call|>), in case the model's
    generation_config does not list them all."""
    if state.fmt is None:
        return ()
    tokens = state.tokenizer.special_tokens
    return tuple(tokens[t] for t in state.fmt.turn_ends if t in tokens)


def _fit_context(
    sampling: SamplingParams, state: AppState, prompt_len: int, req: PipelineRequest
) -> SamplingParams:
    limit = state.engine.max_model_len
    if prompt_len >= limit:
        raise APIError(
            f"This model's maximum context length is {limit} tokens. However, your messages "
            f"resulted in {prompt_len} tokens. Please reduce the length of the messages.",
            param=req.params.prompt if req.prompt is not None else req.params.messages,
            code="context_length_exceeded",
        )
    room = limit - prompt_len
    if sampling.max_tokens and not (req.sampling.clamp_max_tokens and sampling.max_tokens > room):
        return sampling
    return dataclasses.replace(sampling, max_tokens=room)
