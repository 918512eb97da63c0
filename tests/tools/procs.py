"""Real MCP servers for the tests: the same script over streamable HTTP or stdio."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = str(Path(__file__).resolve().parent / "mcp_server.py")
STDIO_COMMAND = f"stdio:{sys.executable} {SCRIPT} stdio"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class McpHttp:
    """tests/tools/mcp_server.py over streamable HTTP on a free loopback port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}/mcp"
        self.proc = subprocess.Popen(
            [sys.executable, SCRIPT, "http", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the MCP test server exited")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the MCP test server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
