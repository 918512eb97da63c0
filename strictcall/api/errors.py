"""Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class APIError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.type = type
        self.headers = headers


def error_body(message: str, type: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class ErrorResponse(JSONResponse):
    """An error body written as ASCII JSON: messages quote what the client sent, and text
    that is not valid Unicode (an unpaired surrogate) must not turn a 400 into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_response(exc: APIError) -> JSONResponse:
    return ErrorResponse(
        error_body(exc.message, exc.type, exc.param, exc.code),
        status_code=exc.status,
        headers=exc.headers,
    )


def _loc_to_param(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body",)]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p in {"function-after", "function-before", "function-wrap"} or "[" in str(p):
            continue  # pydantic's internal union/validator labels
        else:
            out += ("." if out else "") + str(p)
    return out or "body"


async def validation_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request", "type": ""}
    param: str | None = _loc_to_param(tuple(first.get("loc", ())))
    kind = str(first.get("type", ""))
    if kind == "extra_forbidden":
        message = f"Unrecognized request argument supplied: {param}"
    elif kind == "json_invalid":
        message = f"The request body is not valid JSON: {first.get('msg')}"
        param = None
    elif kind == "missing":
        message = f"Missing required parameter: '{param}'."
    else:
        message = f"Invalid value for '{param}': {first.get('msg')}"
    if len(errors) > 1:
        message += (
            f" ({len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} in the request)"
        )
    return ErrorResponse(error_body(message, "invalid_request_error", param, kind or None), 400)


async def api_error_handler(_request: Request, exc: APIError) -> JSONResponse:
    return error_response(exc)


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    message = str(exc.detail) if exc.detail else "error"
    if exc.status_code == 404 and message == "Not Found":  # no route: say which exist
        message = f"No route {request.method} {request.url.path}; this server serves " + ", ".join(
            _routes(request)
        )
    if exc.status_code == 405:
        message = (
            f"Method {request.method} not allowed for {request.url.path}; this server serves "
            + ", ".join(_routes(request))
        )
    return ErrorResponse(
        error_body(message, kind),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _routes(request: Request) -> list[str]:
    """'GET /v1/models', ... for every route of the app (the docs pages left out)."""
    out = []
    for route in request.app.routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if not path or not methods or path.startswith(("/docs", "/redoc", "/openapi")):
            continue
        out += [f"{m} {path}" for m in sorted(methods - {"HEAD"})]
    return out


async def unexpected_handler(_request: Request, exc: Exception) -> JSONResponse:
    return ErrorResponse(
        error_body(f"internal error: {type(exc).__name__}", "server_error"), status_code=500
    )
