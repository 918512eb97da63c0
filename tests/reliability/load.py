"""Load and fault drivers shared by the tests and `make soak`: concurrent streaming clients,
/metrics scraping, peak memory of the server process."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from dataclasses import dataclass, field

import openai


@dataclass
class Outcome:
    """How one request ended, as its client saw it."""

    kind: str  # complete | overloaded | error_event | http_error | disconnected | broken
    status: int = 200
    finish: str | None = None
    chunks: int = 0
    tokens: int = 0
    done: bool = False  # the stream ended with [DONE]
    retry_after: str | None = None
    error: dict | None = None
    seconds: float = 0.0
    first_token_s: float | None = None


@dataclass
class StreamRequest:
    model: str
    max_tokens: int = 24
    seed: int | None = None
    tools: list | None = None
    tool_choice: object = None
    disconnect_after: int | None = None  # chunks read before hanging up
    extra: dict = field(default_factory=dict)


async def stream_once(url: str, req: StreamRequest) -> Outcome:
    """One streaming chat completion read to the end (or abandoned), with raw SSE parsing, so
    error events and the final [DONE] are seen exactly as sent."""
    body = {
        "model": req.model,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "max_tokens": req.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        "ignore_eos": True,
        **({"seed": req.seed} if req.seed is not None else {}),
        **({"tools": req.tools} if req.tools else {}),
        **({"tool_choice": req.tool_choice} if req.tool_choice else {}),
        **req.extra,
    }
    t0 = time.monotonic()
    host, port = _host_port(url)
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return Outcome("broken", status=0, error={"message": repr(exc)})
    payload = json.dumps(body).encode()
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n".encode()
        + payload
    )
    try:
        await writer.drain()
        return await _read_response(reader, writer, req, t0)
    except (OSError, asyncio.IncompleteReadError) as exc:
        return Outcome("broken", error={"message": repr(exc)}, seconds=time.monotonic() - t0)
    finally:
        writer.close()


async def _read_response(reader, writer, req: StreamRequest, t0: float) -> Outcome:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if status != 200:
        raw = await reader.read()
        text = _dechunk(raw) if headers.get("transfer-encoding") == "chunked" else raw
        kind = "overloaded" if status == 503 else "http_error"
        return Outcome(
            kind,
            status=status,
            retry_after=headers.get("retry-after"),
            error=json.loads(text).get("error"),
            seconds=time.monotonic() - t0,
        )
    out = Outcome("complete")
    buffer = b""
    while True:
        piece = await reader.read(65536)
        if not piece:
            break
        buffer += piece
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            data = _sse_data(event)
            if data is None:
                continue
            if data == "[DONE]":
                out.done = True
                continue
            payload = json.loads(data)
            if "error" in payload:
                out.kind, out.error = "error_event", payload["error"]
                continue
            out.chunks += 1
            if payload.get("usage"):
                out.tokens = payload["usage"]["completion_tokens"]
            for choice in payload.get("choices", []):
                if out.first_token_s is None and (
                    choice["delta"].get("content") or choice["delta"].get("tool_calls")
                ):
                    out.first_token_s = time.monotonic() - t0
                out.finish = choice.get("finish_reason") or out.finish
            if req.disconnect_after is not None and out.chunks >= req.disconnect_after:
                out.kind = "disconnected"
                out.seconds = time.monotonic() - t0
                return out
    out.seconds = time.monotonic() - t0
    if not out.done and out.kind == "complete":
        out.kind = "broken"
    return out


def _sse_data(event: bytes) -> str | None:
    # the body is chunked; chunk-size lines sit between events
    for line in event.decode("utf-8", errors="replace").splitlines():
        if line.startswith("data: "):
            return line[6:]
    return None


def _dechunk(raw: bytes) -> bytes:
    out, rest = b"", raw
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def _host_port(url: str) -> tuple[str, int]:
    m = re.match(r"https?://([^:/]+):(\d+)", url)
    assert m, url
    return m.group(1), int(m.group(2))


# ---- /metrics and memory -------------------------------------------------------------------
def scrape(url: str) -> dict[str, float]:
    """`/metrics` as {'name{labels}': value}."""
    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def wait_for_metric(url: str, name: str, predicate, timeout: float = 15.0) -> float:
    """Poll /metrics until `predicate(value)`; returns the value (asserts on timeout)."""
    deadline = time.monotonic() + timeout
    value = scrape(url).get(name, 0.0)
    while not predicate(value):
        assert time.monotonic() < deadline, f"{name} stayed at {value}"
        time.sleep(0.1)
        value = scrape(url).get(name, 0.0)
    return value


def memory_kib(pid: int) -> tuple[int, int]:
    """(resident, peak resident) KiB of process `pid`, from /proc."""
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(rest.split()[0])
    return found["VmRSS"], found["VmHWM"]


def client(url: str, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=300, **kw)
