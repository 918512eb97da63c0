"""The HTTP application: routes, auth and error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from strictcall import __version__
from strictcall.api.chat import create_chat_completion
from strictcall.api.completions import CompletionRequest, create_completion
from strictcall.api.errors import (
    APIError,
    api_error_handler,
    http_error_handler,
    unexpected_handler,
    validation_handler,
)
from strictcall.api.messages import (
    AnthropicErrorMiddleware,
    CountTokensRequest,
    MessagesRequest,
    count_tokens,
    create_message,
)
from strictcall.api.middleware import (
    AuthMiddleware,
    BodyLimitMiddleware,
    JsonBodyMiddleware,
    MetricsMiddleware,
)
from strictcall.api.pipeline import check_model
from strictcall.api.playground import playground_file
from strictcall.api.responses import route as responses
from strictcall.api.responses.schemas import ResponsesRequest
from strictcall.api.schemas import ChatCompletionRequest
from strictcall.api.state import AppState


def create_app(state: AppState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state.engine.start()
        ticker = asyncio.create_task(_tick(state))
        try:
            if state.tools is not None:
                await state.tools.start()
            yield
        finally:
            if state.tools is not None:
                await state.tools.close()
            if state.store is not None:
                state.store.close()
            ticker.cancel()
            state.engine.shutdown()

    docs = state.config.api_docs
    app = FastAPI(
        title="strictcall",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.strictcall = state
    # Starlette types a handler as taking any Exception; each of these takes its own kind
    app.add_exception_handler(RequestValidationError, validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(APIError, api_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected_handler)
    # added last is outermost: metrics, then auth, then the body limit, then JSON bodies only
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=state.config.max_request_bytes)
    app.add_middleware(AuthMiddleware, api_key=state.config.api_key)
    app.add_middleware(AnthropicErrorMiddleware)  # errors under /v1/messages in its shape
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    started = int(time.time())

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            state.metrics.render(state.engine), media_type="text/plain; version=0.0.4"
        )

    def model_card() -> dict:
        return {
            "id": state.served_name,
            "object": "model",
            "created": started,
            "owned_by": "strictcall",
            "root": state.model_names[-1],
            "max_model_len": state.engine.max_model_len,
            "tool_format": state.fmt.name if state.fmt is not None else None,
            # what the format writes (a derived one: the rendering it was read from)
            "tool_format_description": state.fmt.description if state.fmt is not None else None,
            # "off" (--constrain off): calls are parsed, not guaranteed
            "constrain": "on" if state.config.constrain else "off",
        }

    @app.get("/playground", include_in_schema=False)
    async def playground() -> Response:
        return playground_file()

    @app.get("/playground/{name}", include_in_schema=False)
    async def playground_asset(name: str) -> Response:
        return playground_file(name)

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [model_card()]}

    # a model id may hold slashes (a hub id or a path): the route takes the rest of the path
    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> dict:
        check_model(model_id, state)
        return model_card()

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request):
        return await create_completion(body, request, state)

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        return await create_chat_completion(body, request, state)

    @app.post("/v1/messages")
    async def messages(body: MessagesRequest, request: Request):
        return await create_message(body, request, state)

    @app.post("/v1/messages/count_tokens")
    async def messages_count_tokens(body: CountTokensRequest):
        return await count_tokens(body, state)

    @app.post("/v1/responses")
    async def create_response(body: ResponsesRequest, request: Request):
        return await responses.create_response(body, request, state)

    @app.get("/v1/responses/{response_id}")
    async def get_response(response_id: str):
        return await responses.get_response(response_id, state)

    @app.delete("/v1/responses/{response_id}")
    async def delete_response(response_id: str):
        return await responses.delete_response(response_id, state)

    @app.get("/v1/responses/{response_id}/input_items")
    async def input_items(
        response_id: str, order: Literal["asc", "desc"] = "desc", limit: int = 20
    ):
        return await responses.list_input_items(response_id, state, order, limit)

    return app


async def _tick(state: AppState) -> None:
    """Sample the engine's token counter once a second for the tokens/s gauge."""
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            state.metrics.tick(state.engine)
            await asyncio.sleep(1.0)
