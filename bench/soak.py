"""Soak test (`make soak`): many clients for minutes, with bad input, hang-ups and injected
faults mixed in; records how every request ended, memory, queue and throughput over time.

    PYTHONPATH=. python bench/soak.py --seconds 300 --clients 64

Writes bench/results/soak.json and bench/results/soak.png. The tiny random model stands in for
a real one; the figures are about the server (admission, isolation, memory), not the model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from strictcall.engines.embedded import FAULT_SEED_ENV  # noqa: E402
from tests.api.toolsets import TOOLS  # noqa: E402
from tests.conftest import Server, tiny_model  # noqa: E402
from tests.reliability.load import (  # noqa: E402
    Outcome,
    StreamRequest,
    memory_kib,
    scrape,
    stream_once,
)

FAULT_SEED = 666
RESULTS = ROOT / "bench" / "results"

# what each simulated client does on each turn, and how often
MIX = {
    "stream": 0.60,
    "stream_tools": 0.15,
    "hang_up": 0.08,
    "bad_schema": 0.05,
    "bad_body": 0.05,
    "oversized": 0.02,
    "fault": 0.02,
    "non_stream": 0.03,
}


def _post(url: str, body: bytes) -> Outcome:
    request = urllib.request.Request(
        url + "/v1/chat/completions", data=body, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as r:
            r.read()
            return Outcome("complete", status=r.status)
    except urllib.error.HTTPError as e:
        error = json.loads(e.read()).get("error")
        kind = "overloaded" if e.code == 503 else "refused"
        return Outcome(kind, status=e.code, retry_after=e.headers.get("retry-after"), error=error)
    except OSError:
        return Outcome("refused", status=0)


async def _turn(url: str, model: str, kind: str, rng: random.Random) -> Outcome:
    if kind in ("stream", "stream_tools", "hang_up", "fault"):
        req = StreamRequest(model, max_tokens=rng.randint(8, 64), seed=rng.randint(0, 10**6))
        if kind == "stream_tools":
            req.tools, req.tool_choice, req.extra = TOOLS, "required", {"ignore_eos": False}
        if kind == "hang_up":
            req.max_tokens, req.disconnect_after = 400, rng.randint(1, 8)
        if kind == "fault":
            req.seed = FAULT_SEED
        return await stream_once(url, req)
    if kind == "bad_schema":
        body = {
            "model": model,
            "messages": [{"role": "user", "content": "x"}],
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "t", "parameters": {"type": "object", "not": {}}},
                }
            ],
        }
        return await asyncio.to_thread(_post, url, json.dumps(body).encode())
    if kind == "bad_body":
        return await asyncio.to_thread(_post, url, b'{"model": 5, "messages": [')
    if kind == "oversized":
        return await asyncio.to_thread(_post, url, b" " * (5 * 1024 * 1024))
    body = {  # non_stream
        "model": model,
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 16,
        "ignore_eos": True,
    }
    return await asyncio.to_thread(_post, url, json.dumps(body).encode())


def _expected(kind: str, o: Outcome) -> bool:
    """Is this how a request of `kind` should end? (503 is always a clean answer.)"""
    if o.status == 503:
        return o.kind == "overloaded" and bool(o.retry_after)
    return {
        "stream": o.kind == "complete" and o.done,
        "stream_tools": o.kind == "complete" and o.done and o.finish in ("tool_calls", "length"),
        "hang_up": o.kind == "disconnected",
        "fault": o.kind == "error_event" and o.done,
        "non_stream": o.status == 200,
        "bad_schema": o.status == 400,
        "bad_body": o.status == 400,
        "oversized": o.status in (413, 0),  # 0: the server closed before reading it all
    }[kind]


async def _client(url: str, model: str, seed: int, until: float, log: list) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*MIX.items(), strict=True)
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        t0 = time.monotonic()
        outcome = await _turn(url, model, kind, rng)
        log.append((t0, kind, outcome, _expected(kind, outcome)))
        if outcome.status == 503:
            await asyncio.sleep(float(outcome.retry_after or 1))


def _sample(url: str, pid: int, stop: threading.Event, samples: list, t_start: float) -> None:
    while not stop.is_set():
        try:
            m = scrape(url)
            rss, peak = memory_kib(pid)
        except OSError:
            break
        samples.append(
            {
                "t": round(time.monotonic() - t_start, 2),
                "rss_mib": round(rss / 1024, 1),
                "peak_rss_mib": round(peak / 1024, 1),
                "in_flight": m.get("strictcall_requests_in_flight", 0),
                "running": m.get("strictcall_running_sequences", 0),
                "tokens_per_s": round(m.get("strictcall_tokens_per_second", 0), 1),
            }
        )
        stop.wait(0.5)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(int(q * len(values)), len(values) - 1)], 3)


def run(seconds: float, clients: int, queue: int) -> dict:
    server = Server(
        tiny_model(),
        "--max-num-seqs",
        "16",
        "--max-queue",
        str(queue),
        "--max-model-len",
        "1024",
        env={FAULT_SEED_ENV: str(FAULT_SEED)},
    )
    try:
        _rss, idle_peak = memory_kib(server.proc.pid)
        samples: list = []
        stop = threading.Event()
        t_start = time.monotonic()
        sampler = threading.Thread(
            target=_sample, args=(server.url, server.proc.pid, stop, samples, t_start)
        )
        sampler.start()
        log: list = []
        until = time.monotonic() + seconds

        async def main():
            await asyncio.gather(
                *(_client(server.url, server.model, i, until, log) for i in range(clients))
            )

        asyncio.run(main())
        # recovery: the queue empties, and a plain request is served
        while scrape(server.url).get("strictcall_requests_in_flight", 0) > 0:
            time.sleep(0.1)
        after = asyncio.run(stream_once(server.url, StreamRequest(server.model, max_tokens=8)))
        stop.set()
        sampler.join()
        metrics = scrape(server.url)
        rss, peak = memory_kib(server.proc.pid)
    finally:
        server.stop()

    by_kind: dict[str, Counter] = {}
    for _t, kind, o, ok in log:
        if not ok:
            outcome = f"unexpected:{o.kind}:{o.status}"
        else:
            outcome = "overloaded_503" if o.status == 503 else "answered_as_expected"
        by_kind.setdefault(kind, Counter())[outcome] += 1
    unexpected = [
        {"kind": k, "outcome": o.kind, "status": o.status, "error": o.error}
        for _t, k, o, ok in log
        if not ok
    ]
    ttft = [o.first_token_s for _t, _k, o, _ok in log if o.first_token_s is not None]
    done = [o.seconds for _t, k, o, _ok in log if k == "stream" and o.kind == "complete"]
    return {
        "seconds": seconds,
        "clients": clients,
        "queue_limit": queue,
        "requests": len(log),
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        "unexpected": unexpected[:50],
        "unexpected_count": len(unexpected),
        "overloaded_503": sum(1 for _t, _k, o, _ok in log if o.status == 503),
        "time_to_first_token_s": {"p50": _pct(ttft, 0.5), "p99": _pct(ttft, 0.99)},
        "stream_duration_s": {"p50": _pct(done, 0.5), "p99": _pct(done, 0.99)},
        "tokens_generated": metrics.get("strictcall_generated_tokens_total"),
        "tokens_per_s_mean": round(
            statistics.fmean([s["tokens_per_s"] for s in samples] or [0]), 1
        ),
        "memory_mib": {
            "idle_peak": round(idle_peak / 1024, 1),
            "peak": round(peak / 1024, 1),
            "end": round(rss / 1024, 1),
        },
        "recovery": {
            # clients stop starting requests at the end of the window; their last ones finish
            "queue_empty_after_window_s": _drained_after(samples, seconds),
            "request_after_load": after.kind,
            "in_flight_at_end": metrics.get("strictcall_requests_in_flight"),
        },
        "generations": {
            k.split('"')[1]: v
            for k, v in metrics.items()
            if k.startswith("strictcall_generations_total{")
        },
        "samples": samples,
    }


def _drained_after(samples: list[dict], seconds: float) -> float | None:
    """Seconds after the load window until nothing was in flight (from the samples)."""
    for x in samples:
        if x["t"] >= seconds and x["in_flight"] == 0:
            return round(x["t"] - seconds, 1)
    return None


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = result["samples"]
    t = [x["t"] for x in s]
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    axes[0].plot(t, [x["rss_mib"] for x in s], label="resident")
    axes[0].plot(t, [x["peak_rss_mib"] for x in s], "--", label="peak")
    axes[0].set_ylabel("server memory (MiB)")
    axes[0].legend(loc="lower right")
    axes[1].plot(t, [x["in_flight"] for x in s], label="in flight (running + queued)")
    axes[1].plot(t, [x["running"] for x in s], label="running (batch)")
    axes[1].axhline(result["queue_limit"], color="grey", ls=":", label="queue limit")
    axes[1].set_ylabel("requests")
    axes[1].legend(loc="lower right")
    axes[2].plot(t, [x["tokens_per_s"] for x in s])
    axes[2].set_ylabel("tokens/s")
    axes[2].set_xlabel("seconds")
    fig.suptitle(
        f"soak: {result['requests']} requests, {result['clients']} clients, "
        f"{result['unexpected_count']} unexpected outcomes, "
        f"{result['overloaded_503']} refused with 503"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--queue", type=int, default=48)
    p.add_argument("--out", default=str(RESULTS / "soak"))
    args = p.parse_args()
    result = run(args.seconds, args.clients, args.queue)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    plot(result, out.with_suffix(".png"))
    summary = {k: v for k, v in result.items() if k not in ("samples", "unexpected")}
    print(json.dumps(summary, indent=2))
    return 1 if result["unexpected_count"] else 0


if __name__ == "__main__":
    sys.exit(main())
