"""POST /v1/completions (the legacy text API, as vLLM serves it): a raw prompt, no template.

The prompt is text or token ids; vLLM's `structured_outputs` (or `response_format`) constrains
the text. It runs through the same pipeline as chat: the same checks, sampling and engine.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import Field

from strictcall.api.chat.route import generation_error, sse_line, stream_error, usage_body
from strictcall.api.errors import APIError
from strictcall.api.pipeline import Generation, Params, PipelineRequest, sampling_from, start
from strictcall.api.schemas import (
    ResponseFormat,
    StreamOptions,
    StructuredOutputs,
    _Strict,
)
from strictcall.api.state import AppState
from strictcall.engines.base import TokenLogprob

PARAMS = Params(messages="prompt")


class CompletionRequest(_Strict):
    model: str
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(default=16, ge=1)  # OpenAI's and vLLM's default
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    n: int | None = Field(default=1, ge=1, le=128)
    logprobs: int | None = Field(default=None, ge=0, le=20)
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None
    seed: int | None = Field(default=None, ge=-(2**63), le=2**64 - 1)
    user: str | None = None
    # vLLM's extras
    top_k: int | None = Field(default=None, ge=-1)
    min_p: float | None = Field(default=None, ge=0.0, le=1.0)
    repetition_penalty: float | None = Field(default=None, gt=0.0, le=10.0)
    ignore_eos: bool | None = None
    stop_token_ids: list[int] | None = None
    skip_special_tokens: bool | None = None
    include_stop_str_in_output: bool | None = None
    structured_outputs: StructuredOutputs | None = None
    response_format: ResponseFormat | None = None
    # accepted only to refuse them with a precise message
    echo: bool | None = None
    suffix: str | None = None
    best_of: int | None = None


def _prompt(value: Any) -> str | list[int]:
    """One prompt: text, or token ids; a batch of one is that one."""
    if isinstance(value, list) and value and isinstance(value[0], str | list):
        if len(value) != 1:
            raise APIError("only one prompt per request is supported", param="prompt")
        value = value[0]
    if isinstance(value, list) and not value:
        raise APIError("the prompt is empty", param="prompt")
    return value


def to_pipeline(req: CompletionRequest) -> PipelineRequest:
    if req.n not in (None, 1) or req.best_of not in (None, 1):
        param = "n" if req.n not in (None, 1) else "best_of"
        raise APIError(f"only {param}=1 is supported", param=param, code="unsupported_value")
    if req.echo:
        raise APIError("echo is not supported", param="echo")
    if req.suffix:
        raise APIError("suffix (insertion) is not supported", param="suffix")
    if req.stream_options is not None and not req.stream:
        raise APIError("stream_options is only allowed when stream is true", param="stream_options")
    return PipelineRequest(
        messages=[],
        model=req.model,
        prompt=_prompt(req.prompt),
        response_format=req.response_format.model_dump(by_alias=True)
        if req.response_format is not None
        else None,
        structured_outputs=req.structured_outputs.model_dump(by_alias=True)
        if req.structured_outputs is not None
        else None,
        sampling=sampling_from(req, req.max_tokens, req.logprobs is not None, req.logprobs),
        body=req.model_dump(by_alias=True, exclude_none=True),
        id_prefix="cmpl",
        params=PARAMS,
    )


async def create_completion(req: CompletionRequest, request: Request, state: AppState):
    generation = await start(to_pipeline(req), state)
    created = int(time.time())
    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        return StreamingResponse(
            _sse(generation, created, include_usage), media_type="text/event-stream"
        )
    done = await generation.complete(request.is_disconnected)
    if done.last.finish == "error":
        return generation_error(generation.plan, done.last)
    plan = generation.plan
    choice = {
        "index": 0,
        "text": done.result.content or "",
        "logprobs": _logprobs(done.logprobs) if plan.logprobs else None,
        "finish_reason": done.finish,
    }
    return JSONResponse(_body(plan.request_id, created, state, [choice], usage_body(done.last)))


def _body(
    request_id: str, created: int, state: AppState, choices: list, usage: dict | None
) -> dict:
    return {
        "id": request_id,
        "object": "text_completion",
        "created": created,
        "model": state.served_name,
        "choices": choices,
        "usage": usage,
    }


async def _sse(generation: Generation, created: int, include_usage: bool) -> AsyncIterator[str]:
    plan = generation.plan
    state = plan.state
    try:
        async for step in generation.steps():
            text = "".join(d.content or "" for d in step.deltas if d.tool_call_index is None)
            if step.finish == "error":
                yield stream_error(plan, step.error or "generation failed", step.error_code)
                break
            finish: Literal["stop", "length"] | str | None = step.finish
            if text or step.logprobs or finish is not None:
                choice = {
                    "index": 0,
                    "text": text,
                    "logprobs": _logprobs(step.logprobs) if plan.logprobs else None,
                    "finish_reason": "stop" if finish == "tool_calls" else finish,
                }
                yield sse_line(_body(plan.request_id, created, state, [choice], None))
            if finish is not None and include_usage:
                yield sse_line(_body(plan.request_id, created, state, [], usage_body(step)))
    finally:
        if not generation.done:
            generation.abort("disconnected")
    yield "data: [DONE]\n\n"


def _logprobs(items: list[TokenLogprob]) -> dict:
    """The legacy shape: parallel lists, top alternatives as {token: logprob}."""
    offsets, at = [], 0
    for t in items:
        offsets.append(at)
        at += len(t.token)
    return {
        "tokens": [t.token for t in items],
        "token_logprobs": [max(t.logprob, -9999.0) for t in items],
        "top_logprobs": [{tok: max(lp, -9999.0) for tok, lp, _ in t.top} for t in items],
        "text_offset": offsets,
    }
