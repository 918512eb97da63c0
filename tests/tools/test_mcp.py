"""MCP servers through the official SDK: real servers over streamable HTTP and stdio."""

from __future__ import annotations

import asyncio
import shlex

import pytest

from strictcall.grammar.schema import SchemaLimits
from strictcall.tools.mcp import MCPConnection, MCPEndpoint, parse_tool_servers
from tests.tools.procs import STDIO_COMMAND, McpHttp


@pytest.fixture(scope="module")
def http_server():
    s = McpHttp()
    yield s
    s.stop()


def test_tool_server_specs_parse_like_vllm_and_more():
    demo, endpoints = parse_tool_servers(
        ["demo,localhost:8001", "docs=https://mcp.example/mcp", "stdio:python srv.py --a=1,2"]
    )
    assert demo
    assert [(e.url, e.command, e.label) for e in endpoints] == [
        ("http://localhost:8001/mcp", None, None),
        ("https://mcp.example/mcp", None, "docs"),
        (None, ("python", "srv.py", "--a=1,2"), None),
    ]
    with pytest.raises(ValueError, match="expected demo, host:port"):
        parse_tool_servers(["nonsense"])


@pytest.mark.parametrize("transport", ["http", "stdio"])
def test_tools_are_listed_vetted_and_called(http_server, transport):
    if transport == "http":
        endpoint = MCPEndpoint(url=http_server.url)
    else:
        endpoint = MCPEndpoint(command=tuple(shlex.split(STDIO_COMMAND[len("stdio:") :])))

    async def main():
        conn = MCPConnection(endpoint, SchemaLimits(), call_timeout=3)
        await conn.start(30)
        try:
            assert conn.up and conn.label == "testtools"
            assert set(conn.tools) == {"add", "echo", "broken", "slow"}
            # set[int] is `uniqueItems`, which no grammar can enforce: left out, with the reason
            assert "uniqueItems" in conn.refused["unique"]
            assert conn.tools["add"].parameters["additionalProperties"] is False
            ok = await conn.call("add", {"a": 2, "b": 40})
            failed = await conn.call("broken", {})
            slow = await conn.call("slow", {})
            return ok, failed, slow
        finally:
            await conn.close()

    ok, failed, slow = asyncio.run(main())
    assert (ok.text, ok.error) == ("42", None)
    assert failed.error and "broken" in failed.error
    assert slow.error and "timed out after 3s" in slow.error


def test_a_server_that_is_down_gives_error_results():
    async def main():
        conn = MCPConnection(MCPEndpoint(url="http://127.0.0.1:9/mcp"), SchemaLimits())
        await conn.start(5)
        try:
            assert not conn.up and conn.error
            return await conn.call("add", {"a": 1, "b": 1})
        finally:
            await conn.close()

    result = asyncio.run(main())
    assert result.error and "unavailable" in result.error


def test_a_connection_comes_back_when_its_server_does():
    server = McpHttp()

    async def wait_for(conn, up: bool) -> None:
        for _ in range(150):
            if conn.up == up:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the connection did not become {'up' if up else 'down'}")

    async def main():
        nonlocal server
        conn = MCPConnection(MCPEndpoint(url=server.url), SchemaLimits(), refresh_seconds=0.5)
        await conn.start(30)
        try:
            assert conn.up
            server.stop()
            await wait_for(conn, up=False)  # the next re-list notices
            failed = await conn.call("add", {"a": 1, "b": 2})
            server = McpHttp(server.port)
            await wait_for(conn, up=True)
            return failed, await conn.call("add", {"a": 1, "b": 2})
        finally:
            await conn.close()

    try:
        failed, ok = asyncio.run(main())
    finally:
        server.stop()
    assert failed.error and "unavailable" in failed.error
    assert ok.text == "3" and set(ok.details) == set()
