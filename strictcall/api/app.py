"""The HTTP application: routes, auth and error handlers."""

from __future__ import annotations

import hmac
import time
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from strictcall import __version__
from strictcall.api.chat import create_chat_completion
from strictcall.api.errors import (
    APIError,
    api_error_handler,
    http_error_handler,
    unexpected_handler,
    validation_handler,
)
from strictcall.api.responses import route as responses
from strictcall.api.responses.schemas import ResponsesRequest
from strictcall.api.schemas import ChatCompletionRequest
from strictcall.api.state import AppState


def create_app(state: AppState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state.engine.start()
        try:
            if state.tools is not None:
                await state.tools.start()
            yield
        finally:
            if state.tools is not None:
                await state.tools.close()
            if state.store is not None:
                state.store.close()
            state.engine.shutdown()

    app = FastAPI(title="strictcall", version=__version__, lifespan=lifespan)
    app.state.strictcall = state
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(APIError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_handler)
    started = int(time.time())

    async def authorize(request: Request) -> None:
        key = state.config.api_key
        if key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), key.encode()
        ):
            raise APIError("Incorrect API key provided.", status=401, code="invalid_api_key")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/v1/models", dependencies=[Depends(authorize)])
    async def models() -> dict:
        fmt = state.fmt.name if state.fmt is not None else None
        return {
            "object": "list",
            "data": [
                {
                    "id": state.served_name,
                    "object": "model",
                    "created": started,
                    "owned_by": "strictcall",
                    "root": state.model_names[-1],
                    "max_model_len": state.engine.max_model_len,
                    "tool_format": fmt,
                }
            ],
        }

    @app.post("/v1/chat/completions", dependencies=[Depends(authorize)])
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        return await create_chat_completion(body, request, state)

    @app.post("/v1/responses", dependencies=[Depends(authorize)])
    async def create_response(body: ResponsesRequest, request: Request):
        return await responses.create_response(body, request, state)

    @app.get("/v1/responses/{response_id}", dependencies=[Depends(authorize)])
    async def get_response(response_id: str):
        return await responses.get_response(response_id, state)

    @app.delete("/v1/responses/{response_id}", dependencies=[Depends(authorize)])
    async def delete_response(response_id: str):
        return await responses.delete_response(response_id, state)

    @app.get("/v1/responses/{response_id}/input_items", dependencies=[Depends(authorize)])
    async def input_items(
        response_id: str, order: Literal["asc", "desc"] = "desc", limit: int = 20
    ):
        return await responses.list_input_items(response_id, state, order, limit)

    return app
