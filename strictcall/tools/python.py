"""The built-in `python` tool: code runs in the sandbox (tools/sandbox.py).

Each response gets its own working directory ("container"): files one call writes are there
for the next call of the same response, and the directory is removed when the response ends.
"""

from __future__ import annotations

import json
import uuid

from strictcall.tools.base import ServerTool, ToolResult
from strictcall.tools.sandbox import SandboxLimits, make_workdir, remove_workdir, run_python

PYTHON_TOOL = ServerTool(
    name="python",
    description=(
        "Run Python 3 code and read what it prints. The value of a final expression is printed "
        "too. There is no network access, and files persist only for this response in the "
        "working directory. Use it for calculations and data processing."
    ),
    parameters={
        "type": "object",
        "properties": {"code": {"type": "string", "description": "the Python code to run"}},
        "required": ["code"],
        "additionalProperties": False,
    },
    kind="python",
    namespace="python",
)


def code_of(arguments: str) -> str:
    """The code of a call: `{"code": ...}`, or the raw text a native format (Harmony) sends."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        return value["code"]
    return arguments


class PythonContainer:
    """The python tool for one response."""

    def __init__(self, limits: SandboxLimits):
        self.limits = limits
        self.id = f"cntr_{uuid.uuid4().hex}"
        self._dir: str | None = None

    async def run(self, code: str) -> ToolResult:
        if self._dir is None:
            self._dir = make_workdir(self.limits)
        try:
            result = await run_python(code, self._dir, self.limits)
        except OSError as exc:
            return ToolResult.failure(f"the sandbox could not start: {exc}")
        text = result.for_model()
        details = {"logs": result.output, "isolation": result.isolation}
        if result.ok:
            return ToolResult(text, details=details)
        return ToolResult(text, error=text.splitlines()[-1], details=details)

    def close(self) -> None:
        if self._dir is not None:
            remove_workdir(self._dir)
            self._dir = None
