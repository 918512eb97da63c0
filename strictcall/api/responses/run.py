"""The response loop: generate, run the server-side calls, feed their results back, repeat.

One async generator (`ResponseRun.events`) yields OpenAI's typed stream events; a streaming
request sends them as they come, a non-streaming one folds them into the final response, so
the two always agree. Each generation goes through the shared pipeline (api/pipeline: every
check, the prompt, the grammar, the engine); a function call of the client's ends the loop, a
server-side call is run and its result becomes the next generation's input. Ends: no more
calls (completed), the token budget (incomplete: max_output_tokens), the call budget
(incomplete: max_tool_calls), an error (failed), the client going away (cancelled).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from strictcall.api.errors import APIError
from strictcall.api.pipeline import Generation, Params, PipelineRequest, Step, start
from strictcall.api.responses.generation import Call, Items, Output
from strictcall.api.responses.prepare import Turn
from strictcall.api.state import AppState
from strictcall.formats import ToolSpec
from strictcall.tools.base import ToolResult

log = logging.getLogger(__name__)

# the Responses names of what the pipeline checks
PARAMS = Params(
    messages="input",
    named_tool="tool_choice.name",
    response_format="text.format",
    json_schema="text.format",
    reasoning_effort="reasoning.effort",
    max_tokens="max_output_tokens",
)


def native_builtins(fmt: Any) -> frozenset[str]:
    """Namespaces of built-in tools a format presents its own way (Harmony: browser, python).

    A format declares them as `native_builtin_tools`; for those, the chat template gets
    `builtin_tools=[...]` instead of the functions, and their ToolSpecs are marked `native` so
    the grammar and the parser use the family's own call form. Every other format shows plain
    functions.
    """
    return frozenset(getattr(fmt, "native_builtin_tools", ()) or ())


class ResponseRun:
    def __init__(self, turn: Turn, state: AppState):
        self.turn = turn
        self.state = state
        self.items = Items()
        self.status = "in_progress"
        self.error: dict[str, Any] | None = None
        self.incomplete: str | None = None
        self.usage = {"input": 0, "output": 0, "reasoning": 0}
        self.conversation = [*turn.history, *turn.new_messages]  # what is stored
        # the client's body, which the pipeline scans for text no tokenizer can take
        self._body = turn.req.model_dump(by_alias=True, exclude_none=True)
        self.calls_done = 0
        self._first: Generation | None = None
        self._live: Generation | None = None
        self.finished = False

    # ---- planning ------------------------------------------------------------------------
    def _plan_input(self, first: bool) -> PipelineRequest:
        t = self.turn
        callable_names = set(t.specs) if t.allowed is None else set(t.allowed)
        mode, named = t.mode, t.named
        if first and t.first_subset is not None:
            callable_names &= t.first_subset
        if not first and mode in ("required", "named"):
            mode, named = "auto", None  # a forced call forces the first generation only
        if not callable_names:
            mode = "none"
        native = native_builtins(self.state.fmt)
        render = list(t.functions)
        builtins = set()
        for tool in t.server_tools.values():
            if tool.namespace in native:
                builtins.add(tool.namespace)
            else:
                render.append(tool.function())
        show = mode != "none" or not self.state.config.exclude_tools_when_tool_choice_none
        kwargs = dict(t.template_kwargs)
        if builtins and show:
            kwargs["builtin_tools"] = sorted(builtins)
        budget = 0
        if t.req.max_output_tokens is not None:
            budget = t.req.max_output_tokens - self.usage["output"]
        messages = list(self.conversation)
        if t.req.instructions:
            messages.insert(0, {"role": "system", "content": t.req.instructions})
        tools: list[ToolSpec] = []
        for name, spec in t.specs.items():
            if name in callable_names:
                server = t.server_tools.get(name)
                if server is not None and server.namespace in native:
                    spec = dataclasses.replace(spec, native=True)
                tools.append(spec)
        req = t.req
        return PipelineRequest(
            messages=messages,
            tools=tuple(tools),
            render_tools=render if show else None,
            tool_choice=mode,
            named=named,
            parallel_tool_calls=t.parallel,
            response_format=t.response_format,
            reasoning_effort=req.reasoning.effort if req.reasoning else None,
            template_kwargs=kwargs,
            sampling=dataclasses.replace(t.sampling, max_tokens=budget or None),
            body=self._body,
            id_prefix="resp",
            params=PARAMS,
        )

    async def _generation(self, first: bool) -> Generation:
        generation = await start(self._plan_input(first), self.state)
        self._live = generation
        return generation

    async def start(self) -> None:
        """Plan and submit the first generation: its refusals are still 4xx answers."""
        self._first = await self._generation(first=True)

    # ---- the loop ------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[dict[str, Any]]:
        yield self.items.event("response.created", response=self.body())
        yield self.items.event("response.in_progress", response=self.body())
        for label in self.turn.mcp_labels:
            for event in self._list_tools(label):
                yield event
        assert self._first is not None
        generation = self._first
        while True:
            gen = Output(self.items, self.turn.server_tools)
            last = Step()
            async for step in generation.steps():
                for event in gen.feed(step):
                    yield event
                last = step
            self._live = None
            self._count(gen, last)
            for event in gen.finish(last.finish):
                yield event
            if last.finish in ("error", "abort", None):
                self.error = {"code": "server_error", "message": last.error or "generation failed"}
                break
            self._record(gen)
            if last.finish == "length":
                self.incomplete = "max_output_tokens"
                break
            server = [c for c in gen.calls if c.tool is not None and not c.withdrawn]
            if server:
                async for event in self._run_calls(server):
                    yield event
            client = any(c.tool is None and not c.withdrawn for c in gen.calls)
            if self.incomplete or not server or client:
                break
            budget = self.turn.req.max_output_tokens
            if budget is not None and self.usage["output"] >= budget:
                self.incomplete = "max_output_tokens"
                break
            try:
                generation = await self._generation(first=False)
            except APIError as exc:
                self.error = {"code": exc.code or "invalid_request", "message": exc.message}
                break
        self.finished = True
        if self.error is not None:
            self.status = "failed"
            yield self.items.event(
                "error", code=self.error["code"], message=self.error["message"], param=None
            )
            yield self.items.event("response.failed", response=self.body())
        elif self.incomplete is not None:
            self.status = "incomplete"
            yield self.items.event("response.incomplete", response=self.body())
        else:
            self.status = "completed"
            yield self.items.event("response.completed", response=self.body())

    def abort(self) -> None:
        """The client went away: stop the generation now (tools stop with the task)."""
        if self._live is not None:
            if not self._live.done:
                self._live.abort("disconnected")
            self._live = None
        if not self.finished:
            self.status = "cancelled"

    def _count(self, gen: Output, last: Step) -> None:
        self.usage["input"] += last.prompt_tokens
        self.usage["output"] += last.completion_tokens
        self.usage["reasoning"] += gen.reasoning_tokens(last)

    def _record(self, gen: Output) -> None:
        """The generation, as the assistant message the conversation continues from."""
        message: dict[str, Any] = {"role": "assistant", "content": gen.text}
        if gen.reasoning:
            message["reasoning_content"] = gen.reasoning
        calls = [c for c in gen.calls if not c.withdrawn]
        if calls:
            message["content"] = gen.text or None
            message["tool_calls"] = [
                {
                    "id": c.call_id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in calls
            ]
        self.conversation.append(message)

    async def _run_calls(self, calls: list[Call]) -> AsyncIterator[dict[str, Any]]:
        budget = self.turn.max_tool_calls
        if self.turn.req.max_tool_calls is not None:
            budget = min(budget, self.turn.req.max_tool_calls)
        allowed = max(budget - self.calls_done, 0)
        run, skipped = calls[:allowed], calls[allowed:]
        self.calls_done += len(run)
        for call in run:
            for event in self.items.executing(call):
                yield event
        session = self.turn.session
        assert session is not None
        started = time.monotonic()
        results = await asyncio.gather(
            *(session.call(c.tool, c.arguments) for c in run if c.tool is not None)
        )
        log.debug("%d tool calls took %.2fs", len(run), time.monotonic() - started)
        if skipped:
            self.incomplete = "max_tool_calls"
            note = f"not run: this response reached its limit of {budget} tool calls"
            results += [ToolResult.failure(note) for _ in skipped]
        for call, result in zip(calls, results, strict=True):
            done = call in run
            for event in self.items.executed(call, result, session.container_id, done):
                yield event
            self.conversation.append(
                {
                    "role": "tool",
                    "tool_call_id": call.call_id,
                    "name": call.name,
                    "content": result.text,
                }
            )

    def _list_tools(self, label: str) -> list[dict[str, Any]]:
        session = self.turn.session
        assert session is not None
        conn = session.connections[label]
        offered = {n for n, t in self.turn.server_tools.items() if t.server_label == label}
        listed = [t for t in conn.listed if t["name"] in offered]
        error = None if conn.up else f"MCP server {label!r} is unavailable: {conn.error}"
        return self.items.list_tools(label, listed, error)

    # ---- the response object -------------------------------------------------------------
    def body(self) -> dict[str, Any]:
        req = self.turn.req
        usage = None
        if self.usage["input"] or self.usage["output"]:
            usage = {
                "input_tokens": self.usage["input"],
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": self.usage["output"],
                "output_tokens_details": {"reasoning_tokens": self.usage["reasoning"]},
                "total_tokens": self.usage["input"] + self.usage["output"],
            }
        text_format = {"type": "text"}
        if req.text and req.text.format:
            text_format = req.text.format.model_dump(by_alias=True, exclude_none=True)
        done = self.status in ("completed", "incomplete", "failed")
        return {
            "id": self.turn.response_id,
            "object": "response",
            "created_at": self.turn.created_at,
            "completed_at": int(time.time()) if done else None,
            "status": self.status,
            "error": self.error,
            "incomplete_details": {"reason": self.incomplete} if self.incomplete else None,
            "instructions": req.instructions,
            "max_output_tokens": req.max_output_tokens,
            "max_tool_calls": req.max_tool_calls,
            "model": self.state.served_name,
            "output": copy.deepcopy(self.items.output),
            "parallel_tool_calls": self.turn.parallel,
            "previous_response_id": req.previous_response_id,
            "reasoning": {
                "effort": req.reasoning.effort if req.reasoning else None,
                "summary": None,
            },
            "store": req.store is not False,
            "temperature": 1.0 if req.temperature is None else req.temperature,
            "text": {"format": text_format},
            "tool_choice": req.tool_choice if req.tool_choice is not None else "auto",
            "tools": [t.model_dump(exclude_none=True) for t in req.tools or []],
            "top_p": 1.0 if req.top_p is None else req.top_p,
            "truncation": "disabled",
            "usage": usage,
            "user": req.user,
            "metadata": req.metadata or {},
            "background": False,
            "service_tier": "default",
        }
