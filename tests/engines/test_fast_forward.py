"""Feeding a grammar's forced tokens ahead changes the number of forward passes, never the output.

For every format, a call whose arguments are mostly forced (enums, a bounded integer) is decoded
with fast-forward on and off: greedy outputs are identical, and so are seeded sampled ones (the
same draws happen in the same order, so sampled outputs are not only identically distributed
but the same). Batched too, where rows feed drafts of different lengths side by side.
A repeated grammar starts from the first request's warm matcher and decodes the same.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from strictcall.engines.base import GenerationRequest, SamplingParams
from strictcall.engines.embedded import EmbeddedEngine, EngineConfig
from strictcall.formats import ConstraintSpec, ToolSpec, format_names, get_format
from strictcall.grammar.schema import check_tool_parameters

WEATHER = ToolSpec(
    "get_weather",
    check_tool_parameters(
        {
            "type": "object",
            "properties": {
                "city": {"enum": ["Paris", "San Francisco", "Tokyo"]},
                "unit": {"enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 5},
                "alerts": {"type": "boolean"},
            },
            "required": ["city", "unit", "days", "alerts"],
        }
    ),
)


@pytest.fixture(scope="module")
def engine(demo_model):
    e = EmbeddedEngine(EngineConfig(str(demo_model), max_batch=8))
    e.start()
    yield e
    e.shutdown()


def _grammars(engine) -> dict[str, str]:
    out = {}
    for name in format_names():
        spec = ConstraintSpec(
            tools=(WEATHER,),
            mode="named",
            named="get_weather",
            special_tokens=engine.tokenizer.special_tokens,
        )
        try:
            grammar = get_format(name).grammar(spec)
        except NotImplementedError:
            continue
        if grammar is not None:
            out[name] = grammar
    return out


async def _run(engine, request):
    handle = engine.submit(request, asyncio.get_running_loop())
    tokens, finish = [], None
    async for event in handle:
        tokens += event.token_ids
        finish = event.finish_reason
        assert event.error is None, event.error
    return tokens, finish


def _request(engine, grammar: str, i: int, **sampling) -> GenerationRequest:
    prompt = engine.tokenizer.encode(
        f"<|im_start|>user\nweather {i}?<|im_end|>\n<|im_start|>assistant\n"
    )
    params = SamplingParams(**{"max_tokens": 64, "temperature": 0.0, **sampling})
    return GenerationRequest(f"ff{i}-{time.monotonic_ns()}", prompt, params, grammar=grammar)


def _decode_all(engine, grammars, fast_forward: bool, together: bool, **sampling):
    engine.config.fast_forward = fast_forward
    requests = [_request(engine, g, i, **sampling) for i, g in enumerate(grammars.values())]

    async def main():
        if together:
            return await asyncio.gather(*(_run(engine, r) for r in requests))
        return [await _run(engine, r) for r in requests]

    before = engine.stats["forced_tokens"]
    try:
        results = asyncio.run(main())
    finally:
        engine.config.fast_forward = True
    return dict(zip(grammars, results, strict=True)), engine.stats["forced_tokens"] - before


@pytest.mark.parametrize("together", [False, True], ids=["alone", "batched"])
@pytest.mark.parametrize("sampling", [{}, {"temperature": 0.8, "top_p": 0.9, "seed": 3}])
def test_fast_forward_changes_nothing_in_the_output(engine, sampling, together):
    grammars = _grammars(engine)
    assert len(grammars) >= 10
    off, skipped_off = _decode_all(engine, grammars, False, together, **sampling)
    on, skipped_on = _decode_all(engine, grammars, True, together, **sampling)
    assert skipped_off == 0
    for name in grammars:
        assert on[name] == off[name], name
    assert skipped_on > 0  # the drafts were fed and kept somewhere


def test_logprobs_are_those_of_one_step_per_token(engine):
    grammar = _grammars(engine)["hermes"]

    async def collect(fast_forward: bool):
        engine.config.fast_forward = fast_forward
        try:
            handle = engine.submit(
                _request(engine, grammar, 0, logprobs=2), asyncio.get_running_loop()
            )
            return [
                (lp.token, round(lp.logprob, 4))
                async for event in handle
                for lp in (event.logprobs or [])
            ]
        finally:
            engine.config.fast_forward = True

    assert asyncio.run(collect(True)) == asyncio.run(collect(False))


def test_a_repeated_grammar_decodes_from_a_warm_copy_as_the_first_did(engine):
    """The first request hands its matcher back after its first mask (MatcherCache.keep_warm):
    the next one with the same grammar starts from that copy and gives the same output."""
    grammar = _grammars(engine)["qwen3_coder"]
    engine._matchers.clear()

    async def one():
        return await _run(engine, _request(engine, grammar, 7))

    first = asyncio.run(one())
    assert engine._matchers.is_warm(grammar)
    assert asyncio.run(one()) == first
