"""A generation's steps as Anthropic's message stream (SSE with `event:` lines).

message_start, ping, then one content block at a time (thinking, text, tool_use: a new block
whenever the kind of output changes), each content_block_start / _delta / _stop, then
message_delta (stop_reason, usage) and message_stop. A failure mid-stream is an `error` event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from strictcall.api.messages.errors import anthropic_error
from strictcall.api.pipeline import CLIENT_FAULTS, Generation, Step
from strictcall.formats.types import Delta

log = logging.getLogger(__name__)


def stop_reason(finish: str | None, called: bool, stop_sequence: str | None) -> str:
    """Anthropic's stop_reason for the pipeline's finish."""
    if finish == "tool_calls" and called:
        return "tool_use"
    if finish == "length":
        return "max_tokens"
    if finish == "stop" and stop_sequence is not None:
        return "stop_sequence"
    return "end_turn"


def message_id(generation: Generation) -> str:
    return generation.request_id.replace("-", "_", 1)  # msg_..., as Anthropic's ids read


def event(payload: dict[str, Any]) -> str:
    return f"event: {payload['type']}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


class _Blocks:
    """The content block open now, and the events that open, fill and close blocks."""

    def __init__(self) -> None:
        self.index = -1
        self.kind: str | None = None
        self.call: int | None = None  # the pipeline's index of the call in the open block
        self.calls = 0  # tool_use blocks opened

    def _open(self, kind: str, block: dict[str, Any], call: int | None = None) -> Iterator[str]:
        yield from self.close()
        self.index += 1
        self.kind, self.call = kind, call
        yield event({"type": "content_block_start", "index": self.index, "content_block": block})

    def close(self) -> Iterator[str]:
        if self.kind is not None:
            yield event({"type": "content_block_stop", "index": self.index})
            self.kind = self.call = None

    def _delta(self, delta: dict[str, Any]) -> str:
        return event({"type": "content_block_delta", "index": self.index, "delta": delta})

    def feed(self, d: Delta) -> Iterator[str]:
        if d.withdrawn:
            return  # already streamed; stop_reason max_tokens says the call is incomplete
        if d.tool_call_index is not None:
            if d.name is not None:
                self.calls += 1
                block: dict[str, Any] = {
                    "type": "tool_use",
                    "id": d.id,
                    "name": d.name,
                    "input": {},
                }
                yield from self._open("tool_use", block, d.tool_call_index)
            if d.arguments and self.kind == "tool_use" and self.call == d.tool_call_index:
                yield self._delta({"type": "input_json_delta", "partial_json": d.arguments})
            return
        if d.reasoning:
            if self.kind != "thinking":
                yield from self._open(
                    "thinking", {"type": "thinking", "thinking": "", "signature": ""}
                )
            yield self._delta({"type": "thinking_delta", "thinking": d.reasoning})
        if d.content:
            if self.kind != "text":
                yield from self._open("text", {"type": "text", "text": ""})
            yield self._delta({"type": "text_delta", "text": d.content})


async def message_events(generation: Generation) -> AsyncIterator[str]:
    plan = generation.plan
    blocks = _Blocks()
    yield event(
        {
            "type": "message_start",
            "message": {
                "id": message_id(generation),
                "type": "message",
                "role": "assistant",
                "model": plan.state.served_name,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": len(plan.prompt.ids), "output_tokens": 0},
            },
        }
    )
    yield event({"type": "ping"})
    try:
        async for step in generation.steps():
            for d in step.deltas:
                for line in blocks.feed(d):
                    yield line
            if step.finish == "error":
                body = failure(step)[1]
                plan.state.metrics.errors.inc(body["error"]["type"])
                yield event(body)
                return
            if step.finish is not None:
                for line in blocks.close():
                    yield line
                yield _finish(step, blocks.calls > 0)
                yield event({"type": "message_stop"})
    except Exception as exc:  # a fault in this request's stream ends this request only
        log.exception("stream of %s failed", plan.request_id)
        if not generation.done:
            generation.abort("error")
        _, body = anthropic_error(500, f"internal error: {type(exc).__name__}")
        yield event(body)
    finally:
        if not generation.done:  # the client went away (or the server is cutting it off)
            generation.abort("disconnected")


def _finish(step: Step, called: bool) -> str:
    reason = stop_reason(step.finish, called, step.stop_sequence)
    return event(
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": reason,
                "stop_sequence": step.stop_sequence if reason == "stop_sequence" else None,
            },
            "usage": {
                "input_tokens": step.prompt_tokens,
                "output_tokens": step.completion_tokens,
            },
        }
    )


def failure(step: Step) -> tuple[int, dict[str, Any]]:
    """A failed generation: the request's constraint at fault (400) or the server (500)."""
    status = 400 if step.error_code in CLIENT_FAULTS else 500
    return anthropic_error(status, step.error or "generation failed")
