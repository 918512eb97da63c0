"""Web search backends for the browser tool: pluggable, Exa when EXA_API_KEY is set.

A backend is any object with `async search(query, count) -> list[SearchHit]`. Register another
with `register_backend(name, factory)` and select it with STRICTCALL_SEARCH_BACKEND=name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx2


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    snippet: str = ""


class SearchError(RuntimeError):
    """The backend failed (the model gets the message as the tool's error)."""


class SearchBackend(Protocol):
    name: str

    async def search(self, query: str, count: int) -> list[SearchHit]: ...


class NoBackend:
    """What search does when no backend is configured: say so, clearly."""

    name = "none"

    async def search(self, query: str, count: int) -> list[SearchHit]:
        raise SearchError(
            "web search is not configured on this server (set EXA_API_KEY); "
            "browser.open still works with a URL"
        )


class ExaBackend:
    """Exa's search API (https://docs.exa.ai): POST /search with an x-api-key header.

    `base_url` is EXA_BASE_URL when set (a proxy, or a local stand-in in tests).
    """

    name = "exa"

    def __init__(self, api_key: str, base_url: str = "https://api.exa.ai", timeout: float = 15):
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def search(self, query: str, count: int) -> list[SearchHit]:
        body = {
            "query": query,
            "numResults": count,
            "contents": {"text": {"maxCharacters": 600}},
        }
        try:
            async with httpx2.AsyncClient(timeout=self.timeout, trust_env=False) as client:
                r = await client.post(
                    f"{self.base_url}/search", json=body, headers={"x-api-key": self.api_key}
                )
        except httpx2.HTTPError as exc:
            raise SearchError(f"the search backend is unreachable: {exc}") from None
        if r.status_code != 200:
            raise SearchError(f"the search backend answered HTTP {r.status_code}")
        try:
            results = r.json().get("results") or []
        except ValueError:
            raise SearchError("the search backend sent an invalid answer") from None
        hits = []
        for item in results[:count]:
            if isinstance(item, dict) and isinstance(item.get("url"), str):
                text = item.get("text") or item.get("summary") or ""
                hits.append(SearchHit(str(item.get("title") or item["url"]), item["url"], text))
        return hits


_FACTORIES: dict[str, Callable[[], SearchBackend]] = {}


def register_backend(name: str, factory: Callable[[], SearchBackend]) -> None:
    _FACTORIES[name] = factory


def backend_from_env(env: dict[str, str] | None = None) -> SearchBackend:
    env = dict(os.environ if env is None else env)
    chosen = env.get("STRICTCALL_SEARCH_BACKEND")
    if chosen:
        if chosen not in _FACTORIES:
            known = ", ".join(sorted(_FACTORIES)) or "none registered"
            raise ValueError(f"unknown search backend {chosen!r} ({known})")
        return _FACTORIES[chosen]()
    if env.get("EXA_API_KEY"):
        return ExaBackend(env["EXA_API_KEY"], env.get("EXA_BASE_URL") or "https://api.exa.ai")
    return NoBackend()
