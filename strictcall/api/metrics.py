"""`GET /metrics`: Prometheus text exposition, written by hand (the format is four line kinds).

Counters and histograms are updated on the event loop; engine figures (queue depth, running
sequences, tokens) are read from the engine when scraped, so they are never stale.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strictcall.engines.base import Engine

# Seconds; wide enough for a tiny CPU model and a large GPU one.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(x: float) -> str:
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


class Counter:
    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()):
        self.name, self.help, self.label_names = name, help, labels
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        return self._values.get(labels, 0.0)

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        with self._lock:
            items = sorted(self._values.items())
        for labels, value in items:
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"


class Histogram:
    def __init__(self, name: str, help: str, buckets: tuple[float, ...] = _LATENCY_BUCKETS):
        self.name, self.help, self.buckets = name, help, buckets
        self._counts = [0] * len(buckets)
        self._sum = 0.0
        self._count = 0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self._sum += value
            self._count += 1
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    self._counts[i] += 1

    @property
    def count(self) -> int:
        return self._count

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        with self._lock:
            counts, total, n = list(self._counts), self._sum, self._count
        for bound, c in zip(self.buckets, counts, strict=True):
            yield f'{self.name}_bucket{{le="{_number(bound)}"}} {c}'
        yield f'{self.name}_bucket{{le="+Inf"}} {n}'
        yield f"{self.name}_sum {_number(total)}"
        yield f"{self.name}_count {n}"


def _gauge(name: str, help: str, value: float) -> list[str]:
    return [f"# HELP {name} {help}", f"# TYPE {name} gauge", f"{name} {_number(value)}"]


def memory_bytes() -> tuple[int, int]:
    """(resident, peak resident) bytes of this process; zeros where /proc is missing."""
    found = {"VmRSS:": 0, "VmHWM:": 0}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key = line.split(" ", 1)[0].split("\t", 1)[0]
                if key in found:
                    found[key] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return found["VmRSS:"], found["VmHWM:"]


class Metrics:
    """Everything /metrics reports. One instance per server."""

    def __init__(self) -> None:
        self.requests = Counter(
            "strictcall_http_requests_total",
            "HTTP requests by route and status code.",
            ("route", "status"),
        )
        self.errors = Counter(
            "strictcall_errors_total",
            "Errors sent to clients by OpenAI error type (HTTP errors and in-stream errors).",
            ("type",),
        )
        self.generations = Counter(
            "strictcall_generations_total",
            "Generations that ended, by how they ended (finish_reason, 'disconnected' when "
            "the client went away first).",
            ("finish_reason",),
        )
        self.tool_calls = Counter(
            "strictcall_tool_calls_total",
            "Tool calls sent to clients, by tool_choice mode.",
            ("mode",),
        )
        self.ttft = Histogram(
            "strictcall_time_to_first_token_seconds",
            "From the request's arrival to its first generated token.",
        )
        self.grammar = Histogram(
            "strictcall_grammar_build_seconds",
            "Building a request's grammar: Lark text from the tools plus the matcher compile.",
        )
        self._rate: deque[tuple[float, float]] = deque(maxlen=11)  # (time, tokens), one per tick

    def tick(self, engine: Engine) -> None:
        """Sample the token counter (called about once a second) for the tokens/s gauge."""
        self._rate.append((time.monotonic(), _engine_tokens(engine)))

    def tokens_per_second(self) -> float:
        if len(self._rate) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._rate[0], self._rate[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def render(self, engine: Engine) -> str:
        lines: list[str] = []
        for metric in (self.requests, self.errors, self.generations, self.tool_calls):
            lines += metric.lines()
        lines += self.ttft.lines()
        lines += self.grammar.lines()
        in_flight, running = engine.in_flight, engine.running
        lines += _gauge(
            "strictcall_requests_in_flight",
            "Requests accepted by the engine and not finished (running or queued).",
            in_flight,
        )
        lines += _gauge("strictcall_running_sequences", "Sequences in the decode batch.", running)
        lines += _gauge(
            "strictcall_queue_depth",
            "Requests accepted but waiting for a batch slot.",
            max(in_flight - running, 0),
        )
        lines += [
            "# HELP strictcall_generated_tokens_total Tokens generated by the engine.",
            "# TYPE strictcall_generated_tokens_total counter",
            f"strictcall_generated_tokens_total {_number(_engine_tokens(engine))}",
        ]
        lines += _gauge(
            "strictcall_tokens_per_second",
            "Generated tokens per second over the last ten seconds.",
            self.tokens_per_second(),
        )
        rss, peak = memory_bytes()
        lines += _gauge("process_resident_memory_bytes", "Resident memory in bytes.", rss)
        lines += _gauge(
            "strictcall_peak_resident_memory_bytes", "Peak resident memory in bytes.", peak
        )
        return "\n".join(lines) + "\n"


def _engine_tokens(engine: Engine) -> float:
    return float(engine.stats.get("tokens", 0))
