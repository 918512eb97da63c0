"""GET /playground: a page for trying tool calls in a browser, served from package data.

Static HTML, CSS and JS (no build step, no CDN): the page itself calls /v1/chat/completions.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi.responses import Response

from strictcall.api.errors import APIError

_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
    "schema.js": "text/javascript; charset=utf-8",
    "playground.css": "text/css; charset=utf-8",
}


@cache
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def playground_file(name: str = "index.html") -> Response:
    if name not in _TYPES:
        raise APIError(
            f"No playground file {name!r}", status=404, type="not_found_error", code="not_found"
        )
    return Response(_read(name), media_type=_TYPES[name], headers={"Cache-Control": "no-cache"})
