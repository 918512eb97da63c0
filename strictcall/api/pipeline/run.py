"""Running a plan: the engine's events become parser deltas (`Step`s), in no API's shape.

Streaming and non-streaming share one path (`generation_steps`); a non-streaming answer is the
fold of the same steps (`Generation.complete`), so the two always agree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from strictcall.api.errors import APIError
from strictcall.api.pipeline.plan import Plan, plan_request
from strictcall.api.pipeline.request import PipelineRequest
from strictcall.api.state import AppState
from strictcall.engines.base import EngineError, EngineOverloaded, RequestHandle, TokenLogprob
from strictcall.formats.types import Delta, DeltaParser, ParseResult, assemble

# error codes that blame the request: the constraint allows no way on, or the engine (vLLM)
# refused what it was sent; the routes answer them as 400s, every other failure as a 500
CLIENT_FAULTS = frozenset({"grammar_dead_end", "engine_refused"})


@dataclass
class Step:
    deltas: list[Delta] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish: str | None = None  # stop | length | tool_calls | error | abort
    error: str | None = None
    error_code: str | None = None  # one of CLIENT_FAULTS: the request is at fault, not the server
    stop_sequence: str | None = None  # the stop string that ended the answer (finish "stop")
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Completion:
    """A whole generation folded: what a non-streaming answer is made of."""

    result: ParseResult
    logprobs: list[TokenLogprob]
    last: Step  # its finish, error and token counts

    @property
    def finish(self) -> str | None:
        """tool_calls only when a call survived; stop otherwise."""
        if self.last.finish == "tool_calls" and not self.result.tool_calls:
            return "stop"
        return self.last.finish


class _StopScanner:
    """Finds stop strings in content, holding back a possible partial match."""

    def __init__(self, stops: list[str], include: bool):
        self.stops = stops
        self.include = include
        self.keep = max((len(s) for s in stops), default=1) - 1
        self.held = ""
        self.matched: str | None = None

    def push(self, text: str) -> tuple[str, bool]:
        if not self.stops:
            return text, False
        text = self.held + text
        hits = [(i, s) for s in self.stops if (i := text.find(s)) >= 0]
        if hits:
            i, s = min(hits)
            self.held, self.matched = "", s
            return text[: i + len(s)] if self.include else text[:i], True
        cut = max(len(text) - self.keep, 0)
        self.held = text[cut:]
        return text[:cut], False

    def flush(self) -> str:
        out, self.held = self.held, ""
        return out


async def generation_steps(plan: Plan, handle: RequestHandle) -> AsyncIterator[Step]:
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
            step.finish, step.stop_sequence = "stop", stops.matched
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


def _calls_survive(parser: DeltaParser) -> bool:
    return parser.calls > parser.malformed


async def submit_plan(plan: Plan, state: AppState) -> RequestHandle:
    """Hand a plan to the engine; its refusals become API errors naming the wire field."""
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
        wire = {"messages": plan.params.messages, "max_tokens": plan.params.max_tokens}
        param = plan.grammar_param if exc.code == "invalid_grammar" else exc.param
        raise APIError(str(exc), param=wire.get(param or "", param), code=exc.code) from None
    if plan.generation.grammar is not None:
        state.metrics.grammar.observe(plan.grammar_s + handle.grammar_s)
    return handle


class Generation:
    """One generation under way: its plan, and its steps (read once)."""

    def __init__(self, plan: Plan, handle: RequestHandle):
        self.plan = plan
        self.handle = handle
        self.done = False  # the last step was read

    @property
    def request_id(self) -> str:
        return self.plan.request_id

    async def steps(self) -> AsyncIterator[Step]:
        """The steps. A reader that stops early must call `abort` (an async generator left
        unfinished is closed only when collected); this one aborts when it is closed."""
        try:
            async for step in generation_steps(self.plan, self.handle):
                if step.finish is not None:
                    self.done = True
                yield step
        finally:
            if not self.done:
                self.abort("disconnected")

    def abort(self, reason: str = "abort") -> None:
        self.done = True
        self.plan.state.engine.abort(self.plan.request_id)
        self.plan.state.metrics.generations.inc(reason)

    async def complete(
        self, is_disconnected: Callable[[], Awaitable[bool]] | None = None
    ) -> Completion:
        """Fold every step; `is_disconnected` is polled to abort when the client is gone."""
        deltas: list[Delta] = []
        logprobs: list[TokenLogprob] = []
        last = Step()
        watcher = asyncio.create_task(self._watch(is_disconnected)) if is_disconnected else None
        try:
            async for step in self.steps():
                deltas += step.deltas
                logprobs += step.logprobs
                last = step
        finally:
            if watcher is not None:
                watcher.cancel()
            if not self.done:
                self.abort("disconnected")
        return Completion(assemble(deltas), logprobs, last)

    async def _watch(self, is_disconnected: Callable[[], Awaitable[bool]]) -> None:
        while not self.done:
            await asyncio.sleep(0.25)
            if await is_disconnected():
                self.plan.state.engine.abort(self.plan.request_id)
                return


async def start(req: PipelineRequest, state: AppState) -> Generation:
    """The pipeline's entry point for every API: check `req`, plan it, hand it to the engine.

    Raises APIError (4xx naming the wire field via `req.params`, or 503 when the engine is
    full) before anything is generated; afterwards, failures arrive as a Step with
    finish="error". Read the result with `Generation.steps()` (streaming) or
    `Generation.complete()` (one body).
    """
    started = time.monotonic()
    plan = await asyncio.to_thread(plan_request, req, state)
    plan.started = started
    handle = await submit_plan(plan, state)
    return Generation(plan, handle)
