"""POST /v1/chat/completions: the pipeline's steps in OpenAI's exact chat shape.

Streaming and non-streaming read the same steps (api/pipeline/run.py); the non-streaming answer
is their fold, so the two always agree.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from strictcall.api.chat.translate import to_pipeline
from strictcall.api.errors import ErrorResponse, error_body
from strictcall.api.pipeline import CLIENT_FAULTS, Generation, Plan, Step, start
from strictcall.api.schemas import ChatCompletionRequest
from strictcall.api.state import AppState
from strictcall.engines.base import TokenLogprob
from strictcall.formats.types import Delta

log = logging.getLogger(__name__)


async def create_chat_completion(req: ChatCompletionRequest, request: Request, state: AppState):
    generation = await start(to_pipeline(req), state)
    created = int(time.time())
    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        continuous = bool(req.stream_options and req.stream_options.continuous_usage_stats)
        body = _sse(generation, created, include_usage, continuous)
        return StreamingResponse(body, media_type="text/event-stream")
    return await _complete(generation, created, request)


# ---- non-streaming ------------------------------------------------------------------------
async def _complete(generation: Generation, created: int, request: Request):
    plan = generation.plan
    done = await generation.complete(request.is_disconnected)
    if done.last.finish == "error":
        return generation_error(plan, done.last)
    result = done.result
    message: dict[str, Any] = {"role": "assistant", "content": result.content, "refusal": None}
    if result.reasoning is not None:
        message["reasoning_content"] = message["reasoning"] = result.reasoning
    if result.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in result.tool_calls
        ]
    body = {
        "id": plan.request_id,
        "object": "chat.completion",
        "created": created,
        "model": plan.state.served_name,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": logprobs_body(done.logprobs) if plan.logprobs else None,
                "finish_reason": done.finish,
            }
        ],
        "usage": usage_body(done.last),
    }
    return JSONResponse(body)


def generation_error(plan: Plan, step: Step) -> JSONResponse:
    """A generation that failed: the request's constraint at fault (400) or the server (500)."""
    message = step.error or "generation failed"
    if step.error_code in CLIENT_FAULTS:
        param: str | None = plan.params.tools if plan.tools else plan.params.response_format
        if step.error_code == "engine_refused":
            param = None
        body = error_body(message, "invalid_request_error", param, step.error_code)
        return ErrorResponse(body, 400)
    return ErrorResponse(error_body(message, "server_error", None, "generation_failed"), 500)


def stream_error(plan: Plan, message: str, code: str | None) -> str:
    kind = "invalid_request_error" if code in CLIENT_FAULTS else "server_error"
    plan.state.metrics.errors.inc(kind)
    return sse_line(error_body(message, kind, None, code or "generation_failed"))


# ---- streaming ----------------------------------------------------------------------------
def sse_line(payload: dict) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def _sse(
    generation: Generation, created: int, include_usage: bool, continuous: bool
) -> AsyncIterator[str]:
    plan = generation.plan
    model = plan.state.served_name
    out_index: dict[int, int] = {}
    pending_logprobs: list[TokenLogprob] = []

    def chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> str:
        nonlocal pending_logprobs
        body: dict[str, Any] = {
            "id": plan.request_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if plan.logprobs and pending_logprobs:
            body["choices"][0]["logprobs"] = logprobs_body(pending_logprobs)
            pending_logprobs = []
        if include_usage or continuous:
            body["usage"] = usage if continuous else None
        return sse_line(body)

    try:
        yield chunk({"role": "assistant", "content": ""})
        async for step in generation.steps():
            pending_logprobs += step.logprobs
            usage = usage_body(step) if continuous else None
            for d in step.deltas:
                piece = _delta_body(d, out_index)
                if piece is not None:
                    yield chunk(piece, usage=usage)
            if step.finish == "error":
                yield stream_error(plan, step.error or "generation failed", step.error_code)
                break
            if step.finish is not None:
                finish = step.finish
                if finish == "tool_calls" and not out_index:
                    finish = "stop"
                yield chunk({}, finish=finish, usage=usage)
                if include_usage:
                    yield sse_line(
                        {
                            "id": plan.request_id,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": usage_body(step),
                        }
                    )
    except Exception as exc:  # a fault in this request's stream ends this request only
        log.exception("stream of %s failed", plan.request_id)
        if not generation.done:
            generation.abort("error")
        yield stream_error(plan, f"internal error: {type(exc).__name__}", None)
    finally:
        if not generation.done:  # the client went away (or the server is cutting it off)
            generation.abort("disconnected")
    yield "data: [DONE]\n\n"


def _delta_body(d: Delta, out_index: dict[int, int]) -> dict | None:
    if d.withdrawn:
        return None  # already streamed; the finish reason tells the client it is incomplete
    if d.tool_call_index is not None:
        if d.name is not None:
            index = out_index.setdefault(d.tool_call_index, len(out_index))
            return {
                "tool_calls": [
                    {
                        "index": index,
                        "id": d.id,
                        "type": "function",
                        "function": {"name": d.name, "arguments": d.arguments or ""},
                    }
                ]
            }
        if d.tool_call_index in out_index and d.arguments:
            index = out_index[d.tool_call_index]
            return {"tool_calls": [{"index": index, "function": {"arguments": d.arguments}}]}
        return None
    if d.reasoning:
        return {"reasoning_content": d.reasoning, "reasoning": d.reasoning}
    if d.content:
        return {"content": d.content}
    return None


def usage_body(step: Step) -> dict:
    return {
        "prompt_tokens": step.prompt_tokens,
        "completion_tokens": step.completion_tokens,
        "total_tokens": step.prompt_tokens + step.completion_tokens,
    }


def _clamp(x: float) -> float:
    return max(x, -9999.0)


def logprobs_body(items: list[TokenLogprob]) -> dict:
    return {
        "content": [
            {
                "token": t.token,
                "logprob": _clamp(t.logprob),
                "bytes": t.bytes,
                "top_logprobs": [
                    {"token": tok, "logprob": _clamp(lp), "bytes": b} for tok, lp, b in t.top
                ],
            }
            for t in items
        ]
    }
