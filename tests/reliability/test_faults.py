"""Faults: a client that hangs up frees its slot (measured on /metrics), a failure inside one
request's generation ends that request alone, and SIGTERM drains in-flight requests."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest

from strictcall.engines.embedded import FAULT_SEED_ENV
from tests.conftest import Server
from tests.reliability.load import StreamRequest, scrape, stream_once, wait_for_metric

FAULT_SEED = 666
IN_FLIGHT = "strictcall_requests_in_flight"
RUNNING = "strictcall_running_sequences"
TOKENS = "strictcall_generated_tokens_total"
# uvicorn shuts down gracefully, then re-raises the signal so a supervisor sees it
EXITED_ON_SIGTERM = (0, -signal.SIGTERM)


@pytest.fixture(scope="module")
def fault_server(demo_model):
    s = Server(
        demo_model,
        "--max-num-seqs",
        "2",
        "--max-model-len",
        "4096",
        env={FAULT_SEED_ENV: str(FAULT_SEED)},
    )
    yield s
    s.stop()


def _long(s: Server, **kw) -> StreamRequest:
    return StreamRequest(s.model, max_tokens=3000, **kw)


def test_a_client_that_hangs_up_stops_its_generation_and_frees_its_slot(fault_server):
    s = fault_server
    before = scrape(s.url).get('strictcall_generations_total{finish_reason="disconnected"}', 0)
    outcome = asyncio.run(stream_once(s.url, _long(s, disconnect_after=3)))
    assert outcome.kind == "disconnected"
    wait_for_metric(s.url, IN_FLIGHT, lambda v: v == 0)
    wait_for_metric(s.url, RUNNING, lambda v: v == 0)
    tokens = scrape(s.url)[TOKENS]
    time.sleep(1.0)
    assert scrape(s.url)[TOKENS] == tokens, "tokens are still being generated for nobody"
    after = scrape(s.url)['strictcall_generations_total{finish_reason="disconnected"}']
    assert after == before + 1


def test_a_queued_request_whose_client_hangs_up_leaves_the_queue(fault_server):
    """Two running sequences fill the batch (--max-num-seqs 2); a third waits. Its client
    hangs up before its first token: it leaves the queue at once, not when a slot frees."""
    s = fault_server

    async def main():
        running = [asyncio.create_task(stream_once(s.url, _long(s))) for _ in range(2)]
        await asyncio.to_thread(wait_for_metric, s.url, RUNNING, lambda v: v == 2)
        queued = asyncio.create_task(stream_once(s.url, _long(s)))
        await asyncio.to_thread(wait_for_metric, s.url, IN_FLIGHT, lambda v: v == 3)
        queued.cancel()  # its client hangs up (the connection closes)
        await asyncio.to_thread(wait_for_metric, s.url, IN_FLIGHT, lambda v: v == 2)
        assert scrape(s.url)[RUNNING] == 2  # the running two were not disturbed
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    asyncio.run(main())
    wait_for_metric(s.url, IN_FLIGHT, lambda v: v == 0)


def test_a_non_streaming_client_that_times_out_frees_its_slot(fault_server):
    s = fault_server
    body = (
        b'{"model": "%s", "messages": [{"role": "user", "content": "x"}], "max_tokens": 3000,'
        b' "ignore_eos": true}' % s.model.encode()
    )
    request = urllib.request.Request(
        s.url + "/v1/chat/completions", data=body, headers={"content-type": "application/json"}
    )
    with pytest.raises((TimeoutError, urllib.error.URLError, socket.timeout)):
        urllib.request.urlopen(request, timeout=1.5)
    wait_for_metric(s.url, IN_FLIGHT, lambda v: v == 0)


def test_a_failing_generation_ends_only_its_own_request(fault_server):
    """With the test-only fault hook on, seed=666 raises inside that request's sampling. Its
    stream gets an error event then [DONE]; the requests decoded in the same batch finish
    normally, and the server keeps serving."""
    s = fault_server
    errors_before = scrape(s.url).get('strictcall_errors_total{type="server_error"}', 0)

    async def main():
        healthy = [StreamRequest(s.model, max_tokens=30, seed=i) for i in range(3)]
        faulty = StreamRequest(s.model, max_tokens=30, seed=FAULT_SEED)
        return await asyncio.gather(*(stream_once(s.url, r) for r in [faulty, *healthy]))

    faulty, *healthy = asyncio.run(main())
    assert faulty.kind == "error_event", faulty
    assert faulty.error["type"] == "server_error" and "injected fault" in faulty.error["message"]
    assert faulty.done, "the stream must still end with [DONE]"
    for o in healthy:
        assert o.kind == "complete" and o.done and o.finish == "length" and o.tokens == 30, o

    # non-streaming: a 500 in OpenAI's shape
    import openai

    with pytest.raises(openai.InternalServerError) as info:
        s.client().chat.completions.create(
            model=s.model,
            messages=[{"role": "user", "content": "x"}],
            max_tokens=30,
            seed=FAULT_SEED,
            extra_body={"ignore_eos": True},
        )
    assert info.value.response.json()["error"]["code"] == "generation_failed"

    after = asyncio.run(stream_once(s.url, StreamRequest(s.model, max_tokens=5)))
    assert after.kind == "complete" and after.done
    metrics = scrape(s.url)
    assert metrics['strictcall_errors_total{type="server_error"}'] == errors_before + 2
    assert metrics[IN_FLIGHT] == 0


def _connect_refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
    except OSError:
        return True
    return False


def test_sigterm_stops_accepting_drains_in_flight_streams_then_exits(demo_model):
    s = Server(demo_model, "--shutdown-timeout", "60")
    try:

        async def main():
            # long enough to be seen running by a 0.1 s poll (the demo model decodes hundreds
            # of tokens a second)
            stream = asyncio.create_task(stream_once(s.url, StreamRequest(s.model, max_tokens=600)))
            await asyncio.to_thread(wait_for_metric, s.url, RUNNING, lambda v: v == 1)
            s.proc.send_signal(signal.SIGTERM)
            t0 = time.monotonic()
            while not _connect_refused(s.url):
                assert time.monotonic() - t0 < 5, "still accepting connections after SIGTERM"
                await asyncio.sleep(0.05)
            return await stream

        outcome = asyncio.run(main())
        assert outcome.kind == "complete" and outcome.done and outcome.tokens == 600, outcome
        assert s.proc.wait(timeout=30) in EXITED_ON_SIGTERM
    finally:
        s.stop()


def test_sigterm_cuts_off_what_outlasts_the_shutdown_timeout(demo_model):
    s = Server(demo_model, "--shutdown-timeout", "1", "--max-model-len", "8192")
    try:

        async def main():
            stream = asyncio.create_task(
                stream_once(s.url, StreamRequest(s.model, max_tokens=8000))
            )
            await asyncio.to_thread(wait_for_metric, s.url, RUNNING, lambda v: v == 1)
            t0 = time.monotonic()
            s.proc.send_signal(signal.SIGTERM)
            outcome = await stream
            return outcome, t0

        outcome, t0 = asyncio.run(main())
        assert s.proc.wait(timeout=30) in EXITED_ON_SIGTERM
        assert time.monotonic() - t0 < 15, "shutdown took far longer than --shutdown-timeout"
        assert not outcome.done and outcome.tokens < 8000  # cut off, and the client can tell
    finally:
        s.stop()
