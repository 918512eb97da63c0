"""The HTTP application: routes, auth and error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
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
from strictcall.api.middleware import (
    AuthMiddleware,
    BodyLimitMiddleware,
    MetricsMiddleware,
    key_matches,
)
from strictcall.api.schemas import ChatCompletionRequest
from strictcall.api.state import AppState


def create_app(state: AppState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state.engine.start()
        ticker = asyncio.create_task(_tick(state))
        try:
            yield
        finally:
            ticker.cancel()
            state.engine.shutdown()

    app = FastAPI(title="strictcall", version=__version__, lifespan=lifespan)
    app.state.strictcall = state
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(APIError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_handler)
    # added last is outermost: metrics, then auth, then the body limit
    app.add_middleware(BodyLimitMiddleware, limit=state.config.max_request_bytes)
    app.add_middleware(AuthMiddleware, api_key=state.config.api_key)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    started = int(time.time())

    async def authorize(request: Request) -> None:
        """Route-level check; AuthMiddleware already guards all of /v1 (kept for routes
        that declare it)."""
        key = state.config.api_key
        if key is not None and not key_matches(
            request.headers.get("authorization", ""), key.encode()
        ):
            raise APIError("Incorrect API key provided.", status=401, code="invalid_api_key")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            state.metrics.render(state.engine), media_type="text/plain; version=0.0.4"
        )

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

    return app


async def _tick(state: AppState) -> None:
    """Sample the engine's token counter once a second for the tokens/s gauge."""
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            state.metrics.tick(state.engine)
            await asyncio.sleep(1.0)
