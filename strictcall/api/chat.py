"""POST /v1/chat/completions: run a plan and answer in OpenAI's exact shape.

Streaming and non-streaming share one path (`generation_steps`): engine events -> parser
deltas. The non-streaming answer is the fold of the same deltas, so the two always agree. The
Responses API (api/responses/) runs its generations through the same path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from strictcall.api.errors import APIError, ErrorResponse, error_body
from strictcall.api.plan import ChatPlan, build_plan
from strictcall.api.schemas import ChatCompletionRequest
from strictcall.api.state import AppState
from strictcall.engines.base import EngineError, EngineOverloaded, RequestHandle, TokenLogprob
from strictcall.formats.types import Delta, assemble

log = logging.getLogger(__name__)


@dataclass
class Step:
    deltas: list[Delta] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish: str | None = None  # stop | length | tool_calls | error
    error: str | None = None
    error_code: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _StopScanner:
    """Finds stop strings in content, holding back a possible partial match."""

    def __init__(self, stops: list[str], include: bool):
        self.stops = stops
        self.include = include
        self.keep = max((len(s) for s in stops), default=1) - 1
        self.held = ""

    def push(self, text: str) -> tuple[str, bool]:
        if not self.stops:
            return text, False
        text = self.held + text
        hits = [(i, s) for s in self.stops if (i := text.find(s)) >= 0]
        if hits:
            i, s = min(hits)
            self.held = ""
            return text[: i + len(s)] if self.include else text[:i], True
        cut = max(len(text) - self.keep, 0)
        self.held = text[cut:]
        return text[:cut], False

    def flush(self) -> str:
        out, self.held = self.held, ""
        return out


async def generation_steps(plan: ChatPlan, handle: RequestHandle) -> AsyncIterator[Step]:
    parser = plan.parser()
    stops = _StopScanner(plan.stop, plan.include_stop)
    called = False
    engine = plan.state.engine
    metrics = plan.state.metrics
    first_token = True
    calls: set[int] = set()  # indices of calls sent (withdrawn ones taken out)

    def filtered(deltas: list[Delta]) -> tuple[list[Delta], bool]:
        nonlocal called
        out: list[Delta] = []
        for d in deltas:
            if d.tool_call_index is not None:
                if d.withdrawn:
                    calls.discard(d.tool_call_index)
                elif d.name is not None:
                    calls.add(d.tool_call_index)
            if d.content is not None and d.tool_call_index is None and not d.withdrawn:
                text, hit = stops.push(d.content)
                if text:
                    out.append(Delta(content=text))
                if hit:
                    return out, True
                continue
            if d.tool_call_index is not None and not d.withdrawn:
                held = stops.flush()
                if held:
                    out.append(Delta(content=held))
                called = True
            out.append(d)
        return out, False

    def ended(step: Step) -> Step:
        metrics.generations.inc(step.finish or "abort")
        if calls:
            metrics.tool_calls.inc(plan.mode, amount=len(calls))
        return step

    async for event in handle:
        if first_token and event.token_ids:
            first_token = False
            if plan.started:
                metrics.ttft.observe(time.monotonic() - plan.started)
        step = Step(prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens)
        step.logprobs = event.logprobs or []
        deltas = parser.feed(event.text) if event.text else []
        if event.finish_reason is not None:
            deltas += parser.close()
        step.deltas, stopped = filtered(deltas)
        if stopped:
            engine.abort(plan.request_id)
            step.finish = "stop"
            yield ended(step)
            return
        if event.finish_reason is not None:
            tail = stops.flush()
            if tail:
                step.deltas.append(Delta(content=tail))
            if event.finish_reason == "error":
                step.finish, step.error = "error", event.error or "generation failed"
                step.error_code = event.error_code
            elif event.finish_reason == "length":
                step.finish = "length"
            elif event.finish_reason == "stop":
                step.finish = "tool_calls" if called and _calls_survive(parser) else "stop"
            else:
                step.finish = "abort"
            yield ended(step)
            return
        yield step


def _calls_survive(parser) -> bool:
    return parser.calls > parser.malformed


async def submit_plan(plan: ChatPlan, state: AppState, grammar_param: str) -> RequestHandle:
    """Hand a plan to the engine; its refusals become OpenAI errors (`grammar_param` is the
    request field an invalid grammar came from)."""
    loop = asyncio.get_running_loop()
    try:
        handle = await asyncio.to_thread(state.engine.submit, plan.generation, loop)
    except EngineOverloaded:
        raise APIError(
            "The server is busy; retry shortly.",
            status=503,
            type="server_overloaded",
            code="overloaded",
            headers={"Retry-After": "1"},
        ) from None
    except EngineError as exc:
        param = grammar_param if exc.code == "invalid_grammar" else exc.param
        raise APIError(str(exc), param=param, code=exc.code) from None
    if plan.generation.grammar is not None:
        state.metrics.grammar.observe(plan.grammar_s + handle.grammar_s)
    return handle


async def create_chat_completion(req: ChatCompletionRequest, request: Request, state: AppState):
    started = time.monotonic()
    plan = await asyncio.to_thread(build_plan, req, state)
    plan.started = started
    grammar_param = "structured_outputs" if req.structured_outputs else "response_format"
    handle = await submit_plan(plan, state, grammar_param)
    created = int(time.time())
    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        continuous = bool(req.stream_options and req.stream_options.continuous_usage_stats)
        body = _sse(plan, handle, created, include_usage, continuous)
        return StreamingResponse(body, media_type="text/event-stream")
    return await _complete(plan, handle, created, request)


# ---- non-streaming ------------------------------------------------------------------------
async def _complete(plan: ChatPlan, handle: RequestHandle, created: int, request: Request):
    deltas: list[Delta] = []
    logprobs: list[TokenLogprob] = []
    last = Step()
    watcher = asyncio.create_task(_abort_on_disconnect(request, plan))
    try:
        async for step in generation_steps(plan, handle):
            deltas += step.deltas
            logprobs += step.logprobs
            last = step
    finally:
        watcher.cancel()
        if last.finish is None:
            plan.state.engine.abort(plan.request_id)
            plan.state.metrics.generations.inc("disconnected")
    if last.finish == "error":
        return _generation_error(plan, last)
    result = assemble(deltas)
    message: dict[str, Any] = {"role": "assistant", "content": result.content, "refusal": None}
    if result.reasoning is not None:
        message["reasoning_content"] = message["reasoning"] = result.reasoning
    if result.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in result.tool_calls
        ]
    finish = last.finish
    if finish == "tool_calls" and not result.tool_calls:
        finish = "stop"
    body = {
        "id": plan.request_id,
        "object": "chat.completion",
        "created": created,
        "model": plan.state.served_name,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": _logprobs_body(logprobs) if plan.logprobs else None,
                "finish_reason": finish,
            }
        ],
        "usage": _usage(last),
    }
    return JSONResponse(body)


def _generation_error(plan: ChatPlan, step: Step) -> JSONResponse:
    """A generation that failed: the request's constraint at fault (400) or the server (500)."""
    message = step.error or "generation failed"
    if step.error_code == "grammar_dead_end":
        param = "tools" if plan.tools else "response_format"
        body = error_body(message, "invalid_request_error", param, "grammar_dead_end")
        return ErrorResponse(body, 400)
    return ErrorResponse(error_body(message, "server_error", None, "generation_failed"), 500)


def _stream_error(plan: ChatPlan, message: str, code: str | None) -> str:
    kind = "invalid_request_error" if code == "grammar_dead_end" else "server_error"
    plan.state.metrics.errors.inc(kind)
    return _sse_line(error_body(message, kind, None, code or "generation_failed"))


async def _abort_on_disconnect(request: Request, plan: ChatPlan) -> None:
    while True:
        await asyncio.sleep(0.25)
        if await request.is_disconnected():
            plan.state.engine.abort(plan.request_id)
            return


# ---- streaming ----------------------------------------------------------------------------
def _sse_line(payload: dict) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def _sse(
    plan: ChatPlan, handle: RequestHandle, created: int, include_usage: bool, continuous: bool
) -> AsyncIterator[str]:
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
            body["choices"][0]["logprobs"] = _logprobs_body(pending_logprobs)
            pending_logprobs = []
        if include_usage or continuous:
            body["usage"] = usage if continuous else None
        return _sse_line(body)

    finished = False
    try:
        yield chunk({"role": "assistant", "content": ""})
        async for step in generation_steps(plan, handle):
            pending_logprobs += step.logprobs
            usage = _usage(step) if continuous else None
            for d in step.deltas:
                piece = _delta_body(d, out_index)
                if piece is not None:
                    yield chunk(piece, usage=usage)
            if step.finish == "error":
                finished = True
                yield _stream_error(plan, step.error or "generation failed", step.error_code)
                break
            if step.finish is not None:
                finished = True
                finish = step.finish
                if finish == "tool_calls" and not out_index:
                    finish = "stop"
                yield chunk({}, finish=finish, usage=usage)
                if include_usage:
                    yield _sse_line(
                        {
                            "id": plan.request_id,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": _usage(step),
                        }
                    )
    except Exception as exc:  # a fault in this request's stream ends this request only
        log.exception("stream of %s failed", plan.request_id)
        plan.state.engine.abort(plan.request_id)
        plan.state.metrics.generations.inc("error")
        finished = True
        yield _stream_error(plan, f"internal error: {type(exc).__name__}", None)
    finally:
        if not finished:  # the client went away (or the server is cutting it off)
            plan.state.engine.abort(plan.request_id)
            plan.state.metrics.generations.inc("disconnected")
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


def _usage(step: Step) -> dict:
    return {
        "prompt_tokens": step.prompt_tokens,
        "completion_tokens": step.completion_tokens,
        "total_tokens": step.prompt_tokens + step.completion_tokens,
    }


def _clamp(x: float) -> float:
    return max(x, -9999.0)


def _logprobs_body(items: list[TokenLogprob]) -> dict:
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
