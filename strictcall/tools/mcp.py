"""MCP tool servers, through the official SDK (mcp 2.x): streamable HTTP or a stdio command.

A connection is owned by one background task that connects, lists the tools, re-lists them
when the server says they changed (and every `refresh_seconds`), and reconnects with backoff
when the server goes away. Calls from requests go through the live session; when there is
none, the call fails with a message the model reads, and the request goes on.

Every tool's input schema is checked like a client tool's: a tool whose schema cannot be
enforced by the grammar (or whose name no format can carry) is left out and reported, never
offered with a weaker constraint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
import mcp_types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from strictcall.formats.constraint import TOOL_NAME
from strictcall.grammar.schema import SchemaError, SchemaLimits, check_tool_parameters
from strictcall.tools.base import ServerTool, ToolResult

log = logging.getLogger(__name__)

_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class MCPEndpoint:
    """One `--tool-server` entry: a URL (streamable HTTP) or a command (stdio)."""

    url: str | None = None
    command: tuple[str, ...] | None = None
    label: str | None = None  # given with `LABEL=`; else the server's own name
    headers: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return self.url or "stdio:" + shlex.join(self.command or ())


def parse_tool_servers(values: list[str]) -> tuple[bool, list[MCPEndpoint]]:
    """`--tool-server` values -> (built-in demo tools on?, MCP endpoints).

    Forms: `demo`; `host:port` (streamable HTTP at http://host:port/mcp, as vLLM);
    `http(s)://...` (any endpoint); `stdio:COMMAND ARGS` (a subprocess; the whole value, commas
    included, is the command). `LABEL=` before any form names the server.
    """
    demo, endpoints = False, []
    for value in values:
        items = [value] if _strip_label(value)[1].startswith("stdio:") else value.split(",")
        for raw in (i.strip() for i in items):
            if not raw:
                continue
            label, spec = _strip_label(raw)
            if spec == "demo" and label is None:
                demo = True
            elif spec.startswith("stdio:"):
                argv = tuple(shlex.split(spec[len("stdio:") :]))
                if not argv:
                    raise ValueError(f"--tool-server {raw!r}: stdio: needs a command")
                endpoints.append(MCPEndpoint(command=argv, label=label))
            elif spec.startswith(("http://", "https://")):
                endpoints.append(MCPEndpoint(url=spec, label=label))
            elif re.fullmatch(r"[A-Za-z0-9.\-]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5}", spec):
                endpoints.append(MCPEndpoint(url=f"http://{spec}/mcp", label=label))
            else:
                raise ValueError(
                    f"--tool-server {raw!r}: expected demo, host:port, an http(s) URL or "
                    "stdio:COMMAND"
                )
    return demo, endpoints


def _strip_label(value: str) -> tuple[str | None, str]:
    m = re.match(r"^([A-Za-z0-9_-]{1,64})=(.*)$", value)
    return (m.group(1), m.group(2)) if m else (None, value)


def _fallback_label(endpoint: MCPEndpoint) -> str:
    if endpoint.url:
        parts = urlsplit(endpoint.url)
        base = f"{parts.hostname}_{parts.port}" if parts.port else str(parts.hostname)
    else:
        base = (endpoint.command or ("mcp",))[-1].rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_-]", "_", base)[:64] or "mcp"


def vet_tool(tool: mcp_types.Tool, label: str, limits: SchemaLimits) -> ServerTool | str:
    """The tool as the model may call it, or the reason it is left out."""
    if not TOOL_NAME.match(tool.name):
        return "its name is not a valid function name (letters, digits, '_', '-', '.')"
    try:
        parameters = check_tool_parameters(tool.input_schema, limits)
    except SchemaError as exc:
        return f"its input schema cannot be enforced: {exc}"
    description = tool.description or tool.title or ""
    return ServerTool(tool.name, description, parameters, "mcp", server_label=label)


class MCPConnection:
    """One MCP server, kept connected by a background task."""

    def __init__(
        self,
        endpoint: MCPEndpoint,
        limits: SchemaLimits,
        *,
        refresh_seconds: float = 300.0,
        call_timeout: float = 60.0,
    ):
        self.endpoint = endpoint
        self.limits = limits
        self.refresh_seconds = refresh_seconds
        self.call_timeout = call_timeout
        self.label = endpoint.label or _fallback_label(endpoint)
        self.tools: dict[str, ServerTool] = {}
        self.listed: list[dict[str, Any]] = []  # for mcp_list_tools items
        self.refused: dict[str, str] = {}
        self.error: str | None = None
        self._client: Client | None = None
        self._task: asyncio.Task | None = None
        self._listed = asyncio.Event()
        self._changed = asyncio.Event()
        self._closing = False

    async def start(self, wait: float = 10.0) -> None:
        """Connect in the background; wait up to `wait` seconds for the first tool list."""
        self._task = asyncio.create_task(self._run(), name=f"mcp:{self.label}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listed.wait(), wait)
        if not self._listed.is_set():
            self.error = self.error or "no answer yet"
            log.warning("MCP server %s (%s): %s", self.label, self.endpoint.describe(), self.error)

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    def close_now(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()

    @property
    def up(self) -> bool:
        return self._client is not None

    def _make_client(self) -> Client:
        e = self.endpoint
        if e.command:
            target: Any = StdioServerParameters(command=e.command[0], args=list(e.command[1:]))
        elif e.headers:
            http = httpx2.AsyncClient(headers=dict(e.headers), timeout=httpx2.Timeout(30, read=300))
            target = streamable_http_client(e.url or "", http_client=http)
        else:
            target = e.url
        return Client(target, message_handler=self._on_message, read_timeout_seconds=60)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._changed.set()

    async def _run(self) -> None:
        delay = 1.0
        while not self._closing:
            try:
                async with self._make_client() as client:
                    name = client.server_info.name if client.server_info else None
                    if self.endpoint.label is None and name and _LABEL.match(name):
                        self.label = name
                    await self._list(client)
                    self._client, self.error, delay = client, None, 1.0
                    self._listed.set()
                    while True:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._changed.wait(), self.refresh_seconds)
                        self._changed.clear()
                        await self._list(client)
            except asyncio.CancelledError:
                if self._closing:
                    raise
                self.error = "the connection was cancelled"
            except BaseException as exc:  # the SDK raises exception groups from its tasks
                if self._closing:
                    return
                self.error = _describe(exc)
                log.warning("MCP server %s: %s; retrying in %gs", self.label, self.error, delay)
            finally:
                self._client = None
            self._listed.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _list(self, client: Client) -> None:
        tools: list[mcp_types.Tool] = []
        cursor = None
        for _ in range(100):
            page = await client.list_tools(cursor=cursor, cache_mode="refresh")
            tools += page.tools
            cursor = page.next_cursor
            if cursor is None:
                break
        offered, listed, refused = {}, [], {}
        for tool in tools:
            vetted = vet_tool(tool, self.label, self.limits)
            if isinstance(vetted, str):
                refused[tool.name] = vetted
                continue
            offered[tool.name] = vetted
            listed.append(
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.input_schema,
                    "annotations": None,
                }
            )
        for name, reason in refused.items():
            if self.refused.get(name) != reason:
                log.warning("MCP server %s: tool %r left out: %s", self.label, name, reason)
        self.tools, self.listed, self.refused = offered, listed, refused

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        client = self._client
        if client is None:
            return ToolResult.failure(
                f"MCP server {self.label!r} is unavailable ({self.error or 'not connected'})"
            )
        try:
            result = await asyncio.wait_for(
                client.call_tool(name, arguments, read_timeout_seconds=self.call_timeout + 5),
                self.call_timeout,
            )
        except TimeoutError:
            return ToolResult.failure(f"{name} timed out after {self.call_timeout:g}s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return ToolResult.failure(f"{name} failed: {_describe(exc)}")
        text = _result_text(result)
        if result.is_error:
            return ToolResult(text or "Error", error=text or "the tool reported an error")
        return ToolResult(text)


def _result_text(result: mcp_types.CallToolResult) -> str:
    parts = []
    block: Any
    for block in result.content:  # a union of content types: read by their `type`
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource":
            resource = block.resource
            parts.append(getattr(resource, "text", None) or f"[resource {resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource {block.uri}]")
        else:
            parts.append(f"[{kind} content omitted]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:300] + "..."
