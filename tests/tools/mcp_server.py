"""A real MCP server for the tests (official SDK): `python mcp_server.py http PORT | stdio`.

Arguments are bounded so that even a random-weight model's calls stay short.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

server = MCPServer("testtools", instructions="tools for strictcall's tests", log_level="ERROR")

Small = Annotated[int, Field(ge=0, le=999)]
Short = Annotated[str, Field(max_length=12)]


@server.tool(description="Add two integers")
def add(a: Small, b: Small) -> str:
    return str(a + b)


@server.tool(description="Repeat a text back")
def echo(text: Short) -> str:
    return f"echo: {text}"


@server.tool(description="Always fails")
def broken(reason: Short = "") -> str:
    raise RuntimeError("this tool always fails")


@server.tool(description="Takes its time")
async def slow(note: Short = "") -> str:
    await asyncio.sleep(30)
    return "done"


@server.tool(description="Unique numbers: uniqueItems cannot be enforced by a grammar")
def unique(numbers: set[int]) -> str:
    return str(sorted(numbers))


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
