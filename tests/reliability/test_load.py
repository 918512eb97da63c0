"""Load: 64 concurrent streaming clients on loopback against a queue of 32. Every request
completes or is refused cleanly (503 + Retry-After), memory stays bounded, and the server
serves normally afterwards. `make soak` runs the long version and records figures."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter

import pytest

from tests.conftest import CACHE, Server
from tests.reliability.load import StreamRequest, memory_kib, scrape, stream_once

CLIENTS = 64
QUEUE = 32
MAX_TOKENS = 24
# Peak resident memory may grow this much over the idle server under the burst: requests in
# flight are bounded by the queue, each holds at most a context's worth of KV cache.
GROWTH_LIMIT_MIB = 400


@pytest.fixture(scope="module")
def loaded_server(demo_model):
    s = Server(
        demo_model,
        "--max-num-seqs",
        "16",
        "--max-queue",
        str(QUEUE),
        "--max-model-len",
        "512",
    )
    yield s
    s.stop()


async def _burst(url: str, model: str, n: int):
    return await asyncio.gather(
        *(stream_once(url, StreamRequest(model, max_tokens=MAX_TOKENS, seed=i)) for i in range(n))
    )


def test_a_burst_past_the_queue_limit_completes_or_is_refused_cleanly(loaded_server):
    s = loaded_server
    # warm up (first request compiles kernels and caches) before taking the baseline
    asyncio.run(_burst(s.url, s.model, 2))
    _rss, idle_peak = memory_kib(s.proc.pid)

    outcomes = asyncio.run(_burst(s.url, s.model, CLIENTS))
    kinds = Counter(o.kind for o in outcomes)
    _rss, burst_peak = memory_kib(s.proc.pid)

    for o in outcomes:
        if o.kind == "complete":
            assert o.done and o.finish == "length" and o.tokens == MAX_TOKENS, o
        else:
            assert o.kind == "overloaded", o
            assert o.status == 503 and o.retry_after and int(o.retry_after) >= 1, o
            assert o.error["type"] == "server_overloaded" and o.error["code"] == "overloaded", o
    assert kinds["overloaded"] >= 1, kinds  # the limit was reached
    assert kinds["complete"] >= QUEUE, kinds  # and everything admitted finished
    growth_mib = (burst_peak - idle_peak) / 1024
    assert growth_mib < GROWTH_LIMIT_MIB, f"peak memory grew {growth_mib:.0f} MiB"

    metrics = scrape(s.url)
    assert metrics["strictcall_requests_in_flight"] == 0
    assert metrics['strictcall_errors_total{type="server_overloaded"}'] == kinds["overloaded"]

    # the server recovered: a full queue's worth is served without refusal
    after = asyncio.run(_burst(s.url, s.model, QUEUE))
    assert all(o.kind == "complete" and o.done for o in after), Counter(o.kind for o in after)

    figures = {
        "clients": CLIENTS,
        "queue_limit": QUEUE,
        "max_tokens": MAX_TOKENS,
        "outcomes": dict(kinds),
        "idle_peak_rss_mib": round(idle_peak / 1024, 1),
        "burst_peak_rss_mib": round(burst_peak / 1024, 1),
        "slowest_request_s": round(max(o.seconds for o in outcomes), 2),
    }
    (CACHE.parent / "load-figures.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures), os.getpid())
