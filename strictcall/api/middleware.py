"""ASGI middleware in front of every route: request metrics, auth on /v1, body size limit.

Pure ASGI (no BaseHTTPMiddleware) so streaming responses and disconnect detection pass
through untouched. Order, outermost first: metrics (so refusals are counted), auth (so an
unauthenticated client cannot make the server buffer a body), body limit.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from strictcall.api.errors import ErrorResponse, error_body
from strictcall.api.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Routes are labelled by their template; anything unmatched is one label, so a client probing
# random paths cannot grow the metrics without bound.
_UNMATCHED = "unmatched"


class MetricsMiddleware:
    """Counts every HTTP request by route and status, and error responses by error type."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        error_chunks: list[bytes] = []

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif (
                message["type"] == "http.response.body"
                and status >= 400
                and sum(map(len, error_chunks)) < 65536
            ):
                error_chunks.append(bytes(message.get("body", b"")))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            status = status or 500
            self.metrics.errors.inc("server_error")
            raise
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or _UNMATCHED
            self.metrics.requests.inc(label, str(status or 500))
        if status >= 400 and error_chunks:
            self.metrics.errors.inc(_error_type(b"".join(error_chunks)))


def _error_type(body: bytes) -> str:
    try:
        kind = json.loads(body)["error"]["type"]
    except (ValueError, KeyError, TypeError):
        return "unknown"
    return kind if isinstance(kind, str) and len(kind) < 64 else "unknown"


class AuthMiddleware:
    """Bearer key (or Anthropic's `x-api-key` header) on everything under /v1 (routes added
    later included); the rest is open.

    The key is compared with hmac.compare_digest (constant time in its content) and is
    never logged or echoed.
    """

    def __init__(self, app: ASGIApp, api_key: str | None):
        self.app = app
        self.key = api_key.encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.key is None or scope["type"] != "http" or not _under_v1(scope["path"]):
            await self.app(scope, receive, send)
            return
        if key_matches(_header(scope, b"authorization"), self.key) or hmac.compare_digest(
            _header(scope, b"x-api-key"), self.key
        ):
            await self.app(scope, receive, send)
            return
        response = ErrorResponse(
            error_body(
                "Incorrect API key provided.", "invalid_request_error", None, "invalid_api_key"
            ),
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)


def _under_v1(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return b""


def key_matches(header: bytes | str, key: bytes) -> bool:
    """`Authorization: Bearer KEY` carries `key` (constant-time comparison)."""
    if isinstance(header, str):
        header = header.encode("latin-1", errors="replace")
    scheme, _, token = header.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), key)


class BodyLimitMiddleware:
    """Refuses request bodies over `limit` bytes with 413, before anything parses them.

    A declared Content-Length over the limit is refused at once; a chunked body is counted as
    it arrives and refused when it crosses the limit. The body is then replayed to the app,
    and later `receive` calls go to the server (disconnect detection keeps working).
    """

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                too_big = False  # the server itself rejects a malformed length
            if too_big:
                await self._refuse(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # the client left before sending its body: nothing to answer
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (
            f"The request body is larger than this server's limit of {self.limit} bytes "
            "(--max-request-bytes)."
        )
        response = ErrorResponse(
            error_body(message, "invalid_request_error", None, "request_too_large"),
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


class JsonBodyMiddleware:
    """A POST under /v1 must say its body is JSON: a form-encoded body (curl -d without
    -H 'Content-Type: application/json') gets a 415 that says so, not a puzzling 422."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _under_v1(scope["path"]):
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"content-type").decode("latin-1").split(";")[0].strip().lower()
        if given == "application/json" or given.endswith("+json"):
            await self.app(scope, receive, send)
            return
        message = (
            "Request bodies must be JSON: send the header 'Content-Type: application/json' "
            f"(got {given or 'no Content-Type'!r})."
        )
        response = ErrorResponse(
            error_body(message, "invalid_request_error", None, "unsupported_media_type"),
            status_code=415,
        )
        await response(scope, receive, send)
