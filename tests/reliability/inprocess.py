"""Several servers in this process sharing one embedded engine: one per tool format.

The engine does not care which format a request's grammar comes from, so one tiny model can
be served under every registered format at once (`--tool-format NAME` on each), without
loading the model once per format.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import openai
import uvicorn

from strictcall.api.app import create_app
from strictcall.api.state import ServerConfig, make_state
from strictcall.engines.embedded import EmbeddedEngine, EngineConfig
from tests.conftest import free_port


class FormatServers:
    def __init__(self, model: Path, formats: list[str], max_batch: int = 16):
        self.model = str(model)
        self.engine = EmbeddedEngine(EngineConfig(self.model, max_batch=max_batch))
        self.engine.start()
        self.urls: dict[str, str] = {}
        self._servers: list[tuple[uvicorn.Server, threading.Thread]] = []
        for name in formats:
            state = make_state(
                ServerConfig(tool_format=name), self.engine, self.engine.tokenizer, self.model
            )
            port = free_port()
            config = uvicorn.Config(
                create_app(state), host="127.0.0.1", port=port, lifespan="off", log_level="error"
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, name=f"uvicorn-{name}", daemon=True)
            thread.start()
            self._servers.append((server, thread))
            self.urls[name] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not all(s.started for s, _ in self._servers):
            if time.monotonic() > deadline:
                raise RuntimeError("in-process servers did not start")
            time.sleep(0.05)

    def async_client(self, name: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self.urls[name] + "/v1", api_key="unused", max_retries=0, timeout=300
        )

    def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        for _, thread in self._servers:
            thread.join(timeout=10)
        self.engine.shutdown()
