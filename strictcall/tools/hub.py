"""The server's tools: configured MCP servers and the built-in demo tools, and the per-response
session that runs them (python container, browser pages, MCP servers named in the request)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field

from strictcall.grammar.schema import SchemaLimits
from strictcall.tools.base import ServerTool, ToolResult
from strictcall.tools.browser import BROWSER_TOOLS, Browser, BrowserConfig
from strictcall.tools.mcp import MCPConnection, MCPEndpoint
from strictcall.tools.python import PYTHON_TOOL, PythonContainer, code_of
from strictcall.tools.sandbox import SandboxLimits
from strictcall.tools.search import SearchBackend, backend_from_env

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolsConfig:
    demo: bool = False  # the built-in python and browser tools
    endpoints: tuple[MCPEndpoint, ...] = ()
    allow_request_mcp_urls: bool = False  # a request may name an MCP server_url of its own
    allow_private_mcp_urls: bool = False  # ... even on a loopback or private address
    refresh_seconds: float = 300.0
    call_timeout: float = 60.0
    connect_wait: float = 10.0  # how long start-up waits for each server's first tool list
    max_tool_calls: int = 20  # per response: the default and the ceiling
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    browser: BrowserConfig = field(default_factory=BrowserConfig)
    schema_limits: SchemaLimits = field(default_factory=SchemaLimits)


class ToolHub:
    def __init__(self, config: ToolsConfig, search: SearchBackend | None = None):
        self.config = config
        self.search = search
        self.connections: dict[str, MCPConnection] = {}

    async def start(self) -> None:
        if self.config.demo and self.search is None:
            self.search = backend_from_env()
            log.info("built-in tools: python, browser (search backend: %s)", self.search.name)
        pending = [self._connection(e) for e in self.config.endpoints]
        await asyncio.gather(*(c.start(self.config.connect_wait) for c in pending))
        for conn in pending:
            label = conn.label
            n = 2
            while label in self.connections:
                label, n = f"{conn.label}_{n}", n + 1
            conn.label = label
            self.connections[label] = conn
            log.info(
                "MCP server %s (%s): %d tools%s",
                label,
                conn.endpoint.describe(),
                len(conn.tools),
                f", {len(conn.refused)} left out" if conn.refused else "",
            )

    def _connection(self, endpoint: MCPEndpoint) -> MCPConnection:
        return MCPConnection(
            endpoint,
            self.config.schema_limits,
            refresh_seconds=self.config.refresh_seconds,
            call_timeout=self.config.call_timeout,
        )

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections.values()))

    def builtin(self, namespace: str) -> tuple[ServerTool, ...]:
        if not self.config.demo:
            return ()
        return (PYTHON_TOOL,) if namespace == "python" else BROWSER_TOOLS

    def session(self) -> ToolSession:
        return ToolSession(self)


class ToolSession:
    """The server-side tools of one response and the state they keep while it runs."""

    def __init__(self, hub: ToolHub):
        self.hub = hub
        self.connections: dict[str, MCPConnection] = dict(hub.connections)
        self._own: list[MCPConnection] = []
        self._python: PythonContainer | None = None
        self._browser: Browser | None = None

    @property
    def container_id(self) -> str:
        return self.python.id

    @property
    def python(self) -> PythonContainer:
        if self._python is None:
            self._python = PythonContainer(self.hub.config.sandbox)
        return self._python

    async def connect(self, label: str, url: str, headers: dict[str, str]) -> MCPConnection:
        """An MCP server named by the request itself, for this response only."""
        endpoint = MCPEndpoint(url=url, label=label, headers=tuple(headers.items()))
        conn = self.hub._connection(endpoint)
        self._own.append(conn)
        await conn.start(self.hub.config.connect_wait)
        self.connections[label] = conn
        return conn

    async def call(self, tool: ServerTool, arguments: str) -> ToolResult:
        """Run one call. Failures come back as results for the model, never as exceptions."""
        try:
            if tool.kind == "python":
                return await self.python.run(code_of(arguments))
            args = json.loads(arguments) if arguments.strip() else {}
            if not isinstance(args, dict):
                return ToolResult.failure("the arguments must be a JSON object")
            if tool.kind == "browser":
                if self._browser is None:
                    self._browser = Browser(self.hub.search, self.hub.config.browser)
                return await self._browser.call(tool.name, args)
            conn = self.connections.get(tool.server_label or "")
            if conn is None:
                return ToolResult.failure(f"no MCP server {tool.server_label!r}")
            return await conn.call(tool.name, args)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("tool %s failed", tool.name)
            return ToolResult.failure(f"{tool.name} failed: {type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        if self._python is not None:
            self._python.close()
        for conn in self._own:
            with contextlib.suppress(Exception):
                await conn.close()
        self._own = []

    def close_now(self) -> None:
        """Without awaiting (the request was cancelled): stop what this response started."""
        if self._python is not None:
            self._python.close()
        for conn in self._own:
            conn.close_now()
        self._own = []
