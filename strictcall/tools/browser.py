"""The built-in `browser` tool: search, open, find (the three functions gpt-oss was trained on).

Pages are kept per response in a stack; `cursor` names one (default: the last). A page is text
in numbered lines with its links written `【id†text】`, so the model can open link `id`.
Fetching has a size limit, a time limit, at most a few redirects, and refuses private
addresses unless the operator allowed them (tools/netguard.py).
"""

from __future__ import annotations

import asyncio
import textwrap
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx2

from strictcall.tools.base import ServerTool, ToolResult
from strictcall.tools.netguard import BlockedAddress, check_url
from strictcall.tools.search import NoBackend, SearchBackend, SearchError

_CURSOR = {"type": "integer", "minimum": -1, "description": "a page number; -1: the last page"}
BROWSER_TOOLS = (
    ServerTool(
        name="browser.search",
        description="Search the web; returns a page of results whose links can be opened.",
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "maxLength": 200},
                "topn": {"type": "integer", "minimum": 1, "maximum": 10},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        kind="browser",
        namespace="browser",
    ),
    ServerTool(
        name="browser.open",
        description=(
            "Open link `id` of a page (an integer), or a URL (a string); or, without `id`, "
            "scroll the page to line `loc`."
        ),
        parameters={
            "type": "object",
            "properties": {
                "id": {
                    "anyOf": [
                        {"type": "integer", "minimum": -1},
                        {"type": "string", "minLength": 1, "maxLength": 2000},
                    ]
                },
                "cursor": _CURSOR,
                "loc": {"type": "integer", "minimum": -1},
                "num_lines": {"type": "integer", "minimum": -1, "maximum": 400},
            },
            "additionalProperties": False,
        },
        kind="browser",
        namespace="browser",
    ),
    ServerTool(
        name="browser.find",
        description="Find the lines of a page that contain `pattern` (case-insensitive).",
        parameters={
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "minLength": 1, "maxLength": 200},
                "cursor": _CURSOR,
            },
            "required": ["pattern"],
            "additionalProperties": False,
        },
        kind="browser",
        namespace="browser",
    ),
)

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml")


@dataclass(frozen=True)
class BrowserConfig:
    allow_private: bool = False
    max_bytes: int = 2 * 1024 * 1024
    timeout: float = 15.0
    max_redirects: int = 5
    view_lines: int = 60


class FetchError(RuntimeError):
    pass


@dataclass(eq=False)
class Page:
    url: str
    title: str
    lines: list[str]
    links: dict[int, str] = field(default_factory=dict)


class _HTMLText(HTMLParser):
    """HTML -> lines of text, links numbered and written inline."""

    _BLOCK = frozenset(
        [
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "tr",
            "table",
            "section",
            "article",
            "header",
            "footer",
            "nav",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "pre",
            "blockquote",
            "dd",
            "dt",
            "hr",
            "form",
            "main",
            "aside",
        ]
    )
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})

    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base = base
        self.lines: list[str] = []
        self.current: list[str] = []
        self.links: dict[int, str] = {}
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._href: str | None = None
        self._anchor: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self._newline()
        elif tag == "a":
            href = dict(attrs).get("href")
            if href and not href.startswith(("javascript:", "mailto:", "#")):
                self._href, self._anchor = urljoin(self.base, href), []

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag in self._SKIP:
            self._skip = max(self._skip - 1, 0)
        elif tag in self._BLOCK:
            self._newline()
        elif tag == "a" and self._href is not None:
            text = " ".join("".join(self._anchor).split()) or self._href
            i = len(self.links)
            self.links[i] = self._href
            self.current.append(f"【{i}†{text}】")
            self._href = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._skip:
            return
        (self._anchor if self._href is not None else self.current).append(data)

    def _newline(self):
        line = " ".join("".join(self.current).split())
        if line:
            self.lines.extend(textwrap.wrap(line, 160) or [line])
        self.current = []

    def close(self):
        super().close()
        self._newline()


def page_from(url: str, content_type: str, text: str) -> Page:
    if "html" in content_type:
        parser = _HTMLText(url)
        parser.feed(text)
        parser.close()
        title = " ".join(parser.title.split()) or url
        return Page(url, title, parser.lines, parser.links)
    lines = [w for line in text.splitlines() for w in (textwrap.wrap(line, 160) or [""])]
    return Page(url, url, lines)


class Fetcher:
    def __init__(self, config: BrowserConfig):
        self.config = config

    async def fetch(self, url: str) -> Page:
        try:
            return await asyncio.wait_for(self._fetch(url), self.config.timeout)
        except TimeoutError:
            raise FetchError(f"{url} did not answer within {self.config.timeout:g}s") from None

    async def _fetch(self, url: str) -> Page:
        async with httpx2.AsyncClient(
            timeout=self.config.timeout, trust_env=False, follow_redirects=False
        ) as client:
            for _ in range(self.config.max_redirects + 1):
                try:
                    await check_url(url, allow_private=self.config.allow_private)
                except BlockedAddress as exc:
                    raise FetchError(str(exc)) from None
                try:
                    async with client.stream("GET", url, headers={"accept": "text/*"}) as r:
                        if r.is_redirect and "location" in r.headers:
                            url = urljoin(url, r.headers["location"])
                            continue
                        if r.status_code >= 400:
                            raise FetchError(f"{url} answered HTTP {r.status_code}")
                        kind = r.headers.get("content-type", "text/plain").lower()
                        if not kind.startswith(_TEXT_TYPES):
                            raise FetchError(f"{url} is {kind.split(';')[0]}, not text")
                        body, cut = await self._read(r)
                        text = body.decode(r.encoding or "utf-8", "replace")
                        page = page_from(url, kind, text)
                        if cut:
                            page.lines.append(f"[page cut at {self.config.max_bytes} bytes]")
                        return page
                except httpx2.HTTPError as exc:
                    raise FetchError(f"cannot fetch {url}: {exc}") from None
        raise FetchError(f"too many redirects from {url}")

    async def _read(self, r) -> tuple[bytes, bool]:
        body = bytearray()
        async for chunk in r.aiter_bytes():
            body.extend(chunk)
            if len(body) > self.config.max_bytes:
                del body[self.config.max_bytes :]
                return bytes(body), True
        return bytes(body), False


class Browser:
    """One response's browsing session."""

    def __init__(self, backend: SearchBackend | None, config: BrowserConfig):
        self.backend = backend or NoBackend()
        self.config = config
        self.fetcher = Fetcher(config)
        self.pages: list[Page] = []

    async def call(self, name: str, args: dict) -> ToolResult:
        try:
            if name == "browser.search":
                return await self.search(str(args["query"]), int(args.get("topn", 5)))
            if name == "browser.open":
                return await self.open(
                    args.get("id", -1),
                    int(args.get("cursor", -1)),
                    int(args.get("loc", -1)),
                    int(args.get("num_lines", -1)),
                )
            if name == "browser.find":
                return self.find(str(args["pattern"]), int(args.get("cursor", -1)))
        except (SearchError, FetchError, LookupError) as exc:
            return ToolResult.failure(str(exc), action=_action(name, args, None))
        return ToolResult.failure(f"unknown browser function {name!r}")

    async def search(self, query: str, count: int) -> ToolResult:
        hits = await self.backend.search(query, max(1, min(count, 10)))
        lines, links = [], {}
        for i, hit in enumerate(hits):
            links[i] = hit.url
            lines.append(f"【{i}†{hit.title}†{urlsplit(hit.url).netloc}】")
            lines += textwrap.wrap(" ".join(hit.snippet.split()), 160)[:4]
            lines.append("")
        page = self._push(Page(f"search:{query}", f"Search results for {query!r}", lines, links))
        action = {
            "type": "search",
            "query": query,
            "sources": [{"type": "url", "url": h.url} for h in hits],
        }
        return ToolResult(self._show(page, 0, -1), details={"action": action})

    async def open(self, id: int | str, cursor: int, loc: int, num_lines: int) -> ToolResult:
        if isinstance(id, str):
            url = id
        elif id >= 0:
            page = self._page(cursor)
            if id not in page.links:
                raise LookupError(f"page {self._cursor(page)} has no link {id}")
            url = page.links[id]
        else:
            page = self._page(cursor)
            return ToolResult(
                self._show(page, max(loc, 0), num_lines),
                details={"action": {"type": "open_page", "url": page.url}},
            )
        page = self._push(await self.fetcher.fetch(url))
        return ToolResult(
            self._show(page, max(loc, 0), num_lines),
            details={"action": {"type": "open_page", "url": page.url}},
        )

    def find(self, pattern: str, cursor: int) -> ToolResult:
        page = self._page(cursor)
        needle = pattern.lower()
        found = [f"L{i}: {line}" for i, line in enumerate(page.lines) if needle in line.lower()]
        result = Page(page.url, f"Find results for {pattern!r} in {page.title}", found or [])
        result.links = page.links
        shown = self._push(result)
        text = self._show(shown, 0, -1) if found else f"No `{pattern}` found in {page.title}."
        action = {"type": "find_in_page", "pattern": pattern, "url": page.url}
        return ToolResult(text, details={"action": action})

    def _page(self, cursor: int) -> Page:
        if not self.pages:
            raise LookupError("no page is open yet: search or open a URL first")
        if cursor < 0:
            return self.pages[-1]
        if cursor >= len(self.pages):
            raise LookupError(f"there is no page {cursor} (pages 0-{len(self.pages) - 1})")
        return self.pages[cursor]

    def _cursor(self, page: Page) -> int:
        return next(i for i, p in enumerate(self.pages) if p is page)

    def _push(self, page: Page) -> Page:
        self.pages.append(page)
        return page

    def _show(self, page: Page, loc: int, num_lines: int) -> str:
        n = self.config.view_lines if num_lines <= 0 else num_lines
        total = len(page.lines)
        start = min(loc, max(total - 1, 0))
        end = min(start + n, total)
        body = "\n".join(f"L{i}: {page.lines[i]}" for i in range(start, end))
        cursor = self._cursor(page)
        head = f"[{cursor}] {page.title}({page.url})\n**viewing lines [{start} - {max(end - 1, 0)}]"
        return f"{head} of {max(total - 1, 0)}**\n\n{body}"


def _action(name: str, args: dict, url: str | None) -> dict:
    if name == "browser.search":
        return {"type": "search", "query": str(args.get("query", ""))}
    if name == "browser.find":
        return {"type": "find_in_page", "pattern": str(args.get("pattern", "")), "url": url or ""}
    target = args.get("id")
    return {"type": "open_page", "url": target if isinstance(target, str) else url}
