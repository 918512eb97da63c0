"""Server-side tools: MCP servers (tools/mcp.py), the python sandbox (tools/sandbox.py,
tools/python.py) and the browser (tools/browser.py, tools/search.py), gathered by tools/hub.py.

Every tool is a `ServerTool`: a function whose JSON Schema the grammar enforces like a client
tool's; running one gives a `ToolResult`, an error included, never an exception.
"""

from strictcall.tools.base import ServerTool, ToolResult

__all__ = ["ServerTool", "ToolResult"]
