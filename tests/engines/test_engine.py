"""The embedded engine in-process: batching does not change results, aborts free slots."""

from __future__ import annotations

import asyncio
import time

import pytest

from strictcall.engines.base import EngineError, GenerationRequest, SamplingParams
from strictcall.engines.embedded import EmbeddedEngine, EngineConfig


@pytest.fixture(scope="module")
def engine(demo_model):
    e = EmbeddedEngine(EngineConfig(str(demo_model), max_batch=8))
    e.start()
    yield e
    e.shutdown()


def _prompt(engine, text: str) -> list[int]:
    return engine.tokenizer.encode(f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n")


async def _run(engine, request):
    handle = engine.submit(request, asyncio.get_running_loop())
    tokens, finish = [], None
    async for event in handle:
        tokens += event.token_ids
        finish = event.finish_reason
    return tokens, finish


def _request(engine, i: int, **kw) -> GenerationRequest:
    params = dict(max_tokens=24, temperature=0.0, ignore_eos=True)
    params.update(kw)
    return GenerationRequest(
        f"r{i}-{time.monotonic_ns()}", _prompt(engine, f"q{i} " * (i + 1)), SamplingParams(**params)
    )


def test_batched_decoding_equals_decoding_alone(engine):
    """Prompts of different lengths share a left-padded batch; each still gets exactly the
    tokens it gets when decoded alone."""

    async def main():
        alone = [await _run(engine, _request(engine, i)) for i in range(6)]
        together = await asyncio.gather(*(_run(engine, _request(engine, i)) for i in range(6)))
        return alone, together

    alone, together = asyncio.run(main())
    assert [t for t, _ in together] == [t for t, _ in alone]
    assert all(f == "length" and len(t) == 24 for t, f in together)


def test_sequences_join_and_leave_a_running_batch(engine):
    """Requests arriving mid-generation and finishing at different lengths."""

    async def main():
        reference = [
            await _run(engine, _request(engine, i, max_tokens=8 + 6 * i)) for i in range(4)
        ]

        async def late(i):
            await asyncio.sleep(0.01 * i)
            return await _run(engine, _request(engine, i, max_tokens=8 + 6 * i))

        mixed = await asyncio.gather(*(late(i) for i in range(4)))
        return reference, mixed

    reference, mixed = asyncio.run(main())
    assert mixed == reference


def test_abort_stops_generation_and_frees_the_slot(engine):
    async def main():
        request = _request(engine, 1, max_tokens=5000, temperature=1.0)
        handle = engine.submit(request, asyncio.get_running_loop())
        seen = 0
        async for event in handle:
            seen += len(event.token_ids)
            if seen == 5:
                engine.abort(request.request_id)
            if event.finish_reason:
                return seen, event.finish_reason

    seen, finish = asyncio.run(main())
    assert finish == "abort" and seen < 100
    deadline = time.monotonic() + 5
    while engine.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.in_flight == 0


def test_limits_are_checked_before_queueing(engine):
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(EngineError) as info:
            engine.submit(_request(engine, 0, max_tokens=engine.max_model_len), loop)
        assert info.value.code == "context_length_exceeded"
        with pytest.raises(EngineError) as info:
            engine.submit(GenerationRequest("x", [], SamplingParams(max_tokens=1)), loop)
        bad = GenerationRequest("g", [1, 2], SamplingParams(max_tokens=1), grammar="start: nope")
        with pytest.raises(EngineError) as info:
            engine.submit(bad, loop)
        assert info.value.code == "invalid_grammar"
    finally:
        loop.close()


def test_grammar_bounds_every_token(engine):
    """Under a grammar the engine only samples tokens the matcher allows."""
    grammar = 'start: "ab" /[0-9]{3}/ "!"'

    async def main():
        request = GenerationRequest(
            "g1", _prompt(engine, "x"), SamplingParams(max_tokens=50, seed=3), grammar=grammar
        )
        handle = engine.submit(request, asyncio.get_running_loop())
        text, finish = "", None
        async for event in handle:
            text += event.text
            finish = event.finish_reason
        return text, finish

    text, finish = asyncio.run(main())
    assert finish == "stop"
    assert len(text) == 6 and text.startswith("ab") and text[2:5].isdigit() and text.endswith("!")
