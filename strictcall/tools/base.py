"""What every server-side tool is: a function the model can call and the server runs.

A tool is declared once, as a function with a JSON Schema (`ServerTool`); its schema becomes a
grammar constraint like any client tool's. Built-in tools also carry a `namespace` (`python`,
`browser`): a format with a native way to present those (Harmony's built-in tools) shows the
namespace its own way; every other format shows the plain functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from strictcall.formats import ToolSpec

Kind = Literal["mcp", "python", "browser"]


@dataclass(frozen=True)
class ServerTool:
    name: str  # what the model calls (`python`, `browser.search`, an MCP tool's name)
    description: str
    parameters: dict  # normalised JSON Schema (grammar.schema.check_tool_parameters)
    kind: Kind
    namespace: str | None = None  # built-ins: the namespace a format may present natively
    server_label: str | None = None  # MCP: the server it comes from

    def function(self) -> dict[str, Any]:
        """The tool in OpenAI's chat shape, as chat templates render it."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.parameters)


@dataclass
class ToolResult:
    """A tool's answer. `error` set means it failed; `text` is then what the model reads."""

    text: str
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # item-specific (sources, logs)

    @classmethod
    def failure(cls, message: str, **details: Any) -> ToolResult:
        return cls(f"Error: {message}", error=message, details=details)
