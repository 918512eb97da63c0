"""Errors on the Messages routes in Anthropic's shape and status codes.

Every error the server writes (validation, the pipeline's refusals, auth, body limits, unknown
routes, a failed generation) is made once, in OpenAI's shape; under /v1/messages this
middleware rewrites it as Anthropic's `{"type": "error", "error": {"type", "message"}}`, so no
refusal can escape in the other API's shape. A refusal's field is named in its message, as
Anthropic names it ("tools[0].input_schema: ...").
"""

from __future__ import annotations

import json
import logging
from typing import Any

from strictcall.api.middleware import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# Anthropic's error type by status (https://docs.anthropic.com/en/api/errors)
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_STATUS = {503: 529, 415: 400, 422: 400}  # overloaded is 529; every bad body is a 400


def anthropic_error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    """(status, body) of an Anthropic error for a response of `status`."""
    status = _STATUS.get(status, status)
    kind = _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return status, {"type": "error", "error": {"type": kind, "message": message}}


def _message(openai_body: bytes) -> str:
    try:
        error = json.loads(openai_body)["error"]
        message, param = str(error["message"]), error.get("param")
    except (ValueError, KeyError, TypeError):
        return openai_body.decode("utf-8", "replace") or "error"
    if isinstance(param, str) and param and param not in message:
        return f"{param}: {message}"
    return message


def is_messages_path(path: str) -> bool:
    return path == "/v1/messages" or path.startswith("/v1/messages/")


class AnthropicErrorMiddleware:
    """Rewrites error responses under /v1/messages into Anthropic's shape (streams untouched:
    an error inside a stream is written in Anthropic's shape by the route itself)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_messages_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        started = False
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start, started
            if message["type"] == "http.response.start":
                started = True
                if int(message["status"]) >= 400:
                    start = message
                    return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(bytes(message.get("body", b"")))
            if message.get("more_body", False):
                return
            status = int(start["status"])
            await _send_error(send, status, _message(b"".join(chunks)), start.get("headers", []))

        try:
            await self.app(scope, receive, rewrite)
        except Exception as exc:
            # Starlette's last-resort handler sits outside every middleware: answer here
            if started:
                raise
            log.exception("request to %s failed", scope["path"])
            await _send_error(send, 500, f"internal error: {type(exc).__name__}", [])


async def _send_error(send: Send, status: int, message: str, headers: list) -> None:
    status, body = anthropic_error(status, message)
    data = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    drop = (b"content-length", b"content-type", b"www-authenticate")
    headers = [(k, v) for k, v in headers if k.lower() not in drop]
    headers += [
        (b"content-length", str(len(data)).encode()),
        (b"content-type", b"application/json"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
