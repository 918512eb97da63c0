"""POST /v1/responses, GET/DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from strictcall.api.errors import APIError
from strictcall.api.responses.items import new_id
from strictcall.api.responses.prepare import prepare
from strictcall.api.responses.run import ResponseRun
from strictcall.api.responses.schemas import ResponsesRequest
from strictcall.api.state import AppState

log = logging.getLogger(__name__)

_FINAL = {"response.completed", "response.incomplete", "response.failed"}


async def create_response(req: ResponsesRequest, request: Request, state: AppState):
    turn = await prepare(req, state)
    run = ResponseRun(turn, state)
    try:
        await run.start()
    except BaseException:
        if turn.session is not None:
            await turn.session.aclose()
        raise
    if req.stream:
        return StreamingResponse(_stream(run, state), media_type="text/event-stream")
    return await _complete(run, request, state)


async def _stream(run: ResponseRun, state: AppState) -> AsyncIterator[str]:
    saved = False
    try:
        async for event in run.events():
            if event["type"] in _FINAL:
                _save(run, state)  # stored before the client hears it is done
                saved = True
            yield f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
        if run.turn.session is not None:
            await run.turn.session.aclose()
    finally:
        # On a disconnect this runs inside a cancelled task: nothing here may await.
        if not saved:
            run.abort()
            _save(run, state)
        if run.turn.session is not None:
            run.turn.session.close_now()


async def _complete(run: ResponseRun, request: Request, state: AppState) -> JSONResponse:
    async def consume() -> None:
        async for _ in run.events():
            pass

    task = asyncio.create_task(consume())
    watcher = asyncio.create_task(_cancel_on_disconnect(request, task))
    try:
        await task
    except asyncio.CancelledError:
        run.abort()
        if not task.cancelled():
            raise
    finally:
        watcher.cancel()
        _save(run, state)
        if run.turn.session is not None:
            await run.turn.session.aclose()
    return JSONResponse(run.body())


async def _cancel_on_disconnect(request: Request, task: asyncio.Task) -> None:
    while not task.done():
        await asyncio.sleep(0.25)
        if await request.is_disconnected():
            task.cancel()
            return


def _save(run: ResponseRun, state: AppState) -> None:
    if run.turn.req.store is False or state.store is None:
        return
    try:
        state.store.put(run.body(), run.conversation, _input_items(run.turn.req.input))
    except Exception:
        log.exception("could not store response %s", run.turn.response_id)


def _input_items(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [{"type": "message", "role": "user", "content": value}]
    items = []
    for item in value:
        item = dict(item)
        item.setdefault("type", "message")
        if item["type"] == "message" and isinstance(item.get("content"), str):
            kind = "output_text" if item.get("role") == "assistant" else "input_text"
            item["content"] = [{"type": kind, "text": item["content"]}]
        item.setdefault("id", new_id("item"))
        items.append(item)
    return items


def _stored(state: AppState, response_id: str):
    stored = state.store.get(response_id) if state.store is not None else None
    if stored is None:
        raise APIError(
            f"No response found with id '{response_id}'.",
            status=404,
            param="response_id",
            code="response_not_found",
            type="not_found_error",
        )
    return stored


async def get_response(response_id: str, state: AppState) -> dict:
    return (await asyncio.to_thread(_stored, state, response_id)).body


async def delete_response(response_id: str, state: AppState) -> dict:
    await asyncio.to_thread(_stored, state, response_id)
    with contextlib.suppress(Exception):
        await asyncio.to_thread(state.store.delete, response_id)  # type: ignore[union-attr]
    return {"id": response_id, "object": "response", "deleted": True}


async def list_input_items(response_id: str, state: AppState, order: str, limit: int) -> dict:
    items = (await asyncio.to_thread(_stored, state, response_id)).input_items
    if order == "desc":
        items = items[::-1]
    page = items[: max(1, min(limit, 100))]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(items) > len(page),
    }
