"""POST /v1/messages and /v1/messages/count_tokens: the pipeline's steps in Anthropic's shape.

Streaming and non-streaming read the same steps (api/pipeline/run.py); the non-streaming
message is their fold, so the two always agree.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from strictcall.api.messages.schemas import CountTokensRequest, MessagesRequest
from strictcall.api.messages.stream import failure, message_events, message_id, stop_reason
from strictcall.api.messages.translate import to_pipeline
from strictcall.api.pipeline import Completion, Generation, count_prompt_tokens, start
from strictcall.api.state import AppState
from strictcall.formats.types import ToolCall


async def create_message(req: MessagesRequest, request: Request, state: AppState):
    generation = await start(to_pipeline(req), state)
    if req.stream:
        return StreamingResponse(message_events(generation), media_type="text/event-stream")
    done = await generation.complete(request.is_disconnected)
    if done.last.finish == "error":
        status, body = failure(done.last)
        return JSONResponse(body, status_code=status)
    return MessageResponse(message_body(generation, done))


async def count_tokens(req: CountTokensRequest, state: AppState) -> dict:
    return {"input_tokens": await asyncio.to_thread(count_prompt_tokens, to_pipeline(req), state)}


def message_body(generation: Generation, done: Completion) -> dict[str, Any]:
    result = done.result
    content: list[dict[str, Any]] = []
    if result.reasoning:
        # no signature: this server does not sign reasoning, and reads it back unsigned
        content.append({"type": "thinking", "thinking": result.reasoning, "signature": ""})
    if result.content:
        content.append({"type": "text", "text": result.content})
    content += [tool_use_block(c) for c in result.tool_calls]
    reason = stop_reason(done.finish, bool(result.tool_calls), done.last.stop_sequence)
    return {
        "id": message_id(generation),
        "type": "message",
        "role": "assistant",
        "model": generation.plan.state.served_name,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": done.last.stop_sequence if reason == "stop_sequence" else None,
        "usage": {
            "input_tokens": done.last.prompt_tokens,
            "output_tokens": done.last.completion_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


class RawJSON:
    """JSON text written into a response verbatim: a call's arguments as the model wrote them.

    Parsing them into Python and back would not round-trip every valid JSON number (`1e400`
    reads as inf, which JSON cannot write), and would rewrite what the grammar let through.
    """

    def __init__(self, text: str):
        self.text = text


class MessageResponse(JSONResponse):
    """A JSON body in which `RawJSON` values are spliced in as written."""

    def render(self, content: Any) -> bytes:
        nonce, raws = uuid.uuid4().hex, []

        def place(value: Any) -> str:
            if not isinstance(value, RawJSON):
                raise TypeError(f"{type(value).__name__} is not JSON serializable")
            raws.append(value.text)
            return f"\0{nonce}:{len(raws) - 1}\0"

        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=place)
        for i, raw in enumerate(raws):
            text = text.replace(json.dumps(f"\0{nonce}:{i}\0"), raw, 1)
        return text.encode()


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def tool_use_block(call: ToolCall) -> dict[str, Any]:
    text = call.arguments or "{}"
    try:
        parsed = json.loads(text, parse_constant=_strict_constant)
    except ValueError:  # only with --constrain off: the call as the model wrote it
        return {"type": "tool_use", "id": call.id, "name": call.name, "input": text}
    arguments: Any = RawJSON(text) if isinstance(parsed, dict) else parsed
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": arguments}
