"""Driving the embedded engine directly for the throughput benchmarks.

Requests go through `EmbeddedEngine.submit` as the API sends them, minus HTTP: a BFCL
question rendered with the model's chat template, the grammar the model's format builds for
that question's tools (tool_choice "required", parallel calls allowed), fixed-length generation.
Fixed length: end-of-sequence tokens get a -100 logit bias and ignore_eos is set, so both
sides generate exactly max_tokens tokens; with calls allowed in parallel the grammar never has
to end, the model writing call after call until the length is reached.

The engine is instrumented from outside (its methods wrapped on the instance, the engine code
untouched) to split each token's time, wall and CPU, into the forward pass, the mask
computation (on the helper thread, overlapped with the forward), the part of it the loop waits
for, choosing the token under the mask and accepting it (grammar advance, detokenize, emit).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers.utils import logging as transformers_logging

from bench import bfcl, models
from strictcall.chat.probe import probe
from strictcall.chat.render import render, template_variables
from strictcall.engines.base import GenerationRequest, SamplingParams
from strictcall.engines.embedded import EmbeddedEngine, EngineConfig
from strictcall.formats import ConstraintSpec, ToolSpec
from strictcall.formats.detect import detect_format
from strictcall.grammar.schema import normalize_parameters

TIMED = ("_decode", "_masks", "_choose", "_accept")


@dataclass
class Prompt:
    id: str
    ids: list[int]
    grammar: str


@dataclass
class Run:
    """One request's events: (time, tokens so far)."""

    submitted: float
    times: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # process CPU time at first and last token
    finish: str | None = None
    error: str | None = None

    @property
    def tokens(self) -> int:
        return self.counts[-1] if self.counts else 0

    def decode_rate(self) -> float:
        """Tokens per second after the first token (prefill and compile excluded)."""
        span = self.times[-1] - self.times[0]
        return (self.counts[-1] - self.counts[0]) / span if span > 0 else float("nan")

    def decode_cpu_per_token(self) -> float:
        """Process CPU seconds per token after the first (all threads)."""
        return (self.cpu[-1] - self.cpu[0]) / (self.counts[-1] - self.counts[0])


def batch_decode_rate(runs: list[Run]) -> float:
    """Tokens per second while every request of a batch is decoding: from the last request's
    first token (all admitted) to the last token of all."""
    start = max(r.times[0] for r in runs)
    end = max(r.times[-1] for r in runs)
    tokens = 0
    for r in runs:
        before = max((c for t, c in zip(r.times, r.counts, strict=True) if t <= start), default=0)
        tokens += r.counts[-1] - before
    return tokens / (end - start) if end > start else float("nan")


def batch_decode_cpu_per_token(runs: list[Run]) -> float:
    """Process CPU seconds per token over the same window as batch_decode_rate (approximate:
    CPU time is sampled at each request's first and last token)."""
    start = max(r.cpu[0] for r in runs)
    end = max(r.cpu[-1] for r in runs)
    first = max(r.times[0] for r in runs)
    tokens = 0
    for r in runs:
        before = max((c for t, c in zip(r.times, r.counts, strict=True) if t <= first), default=0)
        tokens += r.counts[-1] - before
    return (end - start) / tokens if tokens else float("nan")


def end_to_end_rate(runs: list[Run]) -> float:
    """Tokens per second from the first submission to the last token, prefill included."""
    start = min(r.submitted for r in runs)
    end = max(r.times[-1] for r in runs)
    return sum(r.tokens for r in runs) / (end - start)


class Bench:
    """An engine on one of bench.models' models (or any model directory), with prompts and
    instrumentation. `tools_in_prompt` renders each question's tools with the chat template (a
    real model needs them to write a sensible call; a random one ignores them)."""

    def __init__(
        self,
        spec: models.ModelSpec | str,
        max_batch: int = 16,
        device: str = "cpu",
        dtype: str = "float32",
        tools_in_prompt: bool = False,
        parallel: bool = True,
        fast_forward: bool = True,
    ):
        self.spec = spec
        self.name = spec.name if isinstance(spec, models.ModelSpec) else Path(spec).name
        transformers_logging.disable_progress_bar()
        path = str(models.build(spec)) if isinstance(spec, models.ModelSpec) else spec
        self.engine = EmbeddedEngine(
            EngineConfig(
                model=path,
                device=device,
                dtype=dtype,
                max_batch=max_batch,
                fast_forward=fast_forward,
            )
        )
        tok = self.engine.tokenizer
        rendering = probe(tok.chat_template, template_variables(tok))
        fmt = detect_format(tok.chat_template, set(tok.special_tokens), rendering)
        if fmt is None:
            raise RuntimeError(f"{path}: no tool-call format detected")
        self.format = fmt.name
        self.prompts = []
        for p in bfcl.prompts():
            specs = tuple(
                ToolSpec(t["function"]["name"], normalize_parameters(t["function"]["parameters"]))
                for t in p["tools"]
            )
            spec_ = ConstraintSpec(
                tools=specs, mode="required", parallel=parallel, special_tokens=tok.special_tokens
            )
            grammar = fmt.grammar(spec_)
            assert grammar is not None
            # by default the question alone: the tools constrain the output through the
            # grammar, and a random model ignores a tool list in its prompt; rendering it would
            # make the prefill (~1-4k tokens, which neither benchmark measures) dominate on a CPU
            if tools_in_prompt:
                ids = render(tok, p["messages"], p["tools"], renderer=fmt.renderer).ids
            else:
                ids = render(tok, p["messages"], None).ids
            self.prompts.append(Prompt(p["id"], ids, grammar))
        self.timings: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        for name in TIMED:
            setattr(self.engine, name, self._timed(name, getattr(self.engine, name)))
        self.engine.start()

    def _timed(self, name: str, fn: Callable) -> Callable:
        """Wrap an engine method to add up its wall time (`name`) and the CPU time of the
        thread running it (`name_cpu`)."""
        self.timings[name] = self.timings[f"{name}_cpu"] = 0.0
        self.calls[name] = 0

        def wrapper(*args, **kwargs):
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.timings[name] += time.perf_counter() - t0
                self.timings[f"{name}_cpu"] += time.thread_time() - c0
                self.calls[name] += 1

        return wrapper

    def snapshot(self) -> dict[str, float]:
        """Engine counters, instrumented time per method, and the process's CPU time (all
        threads: robust to other processes sharing the machine, unlike wall time)."""
        return {**self.engine.stats, **self.timings, "cpu_s": time.process_time()}

    def sampling(self, max_tokens: int, seed: int) -> SamplingParams:
        eos = self.engine.eos_ids
        return SamplingParams(
            max_tokens=max_tokens,
            temperature=1.0,
            seed=seed,
            logit_bias=dict.fromkeys(eos, -100.0),
            ignore_eos=True,
        )

    def requests(
        self, count: int, max_tokens: int, grammar: bool, first: int = 0
    ) -> list[GenerationRequest]:
        out = []
        for i in range(first, first + count):
            p = self.prompts[i % len(self.prompts)]
            out.append(
                GenerationRequest(
                    request_id=f"bench-{i}-{grammar}-{time.monotonic_ns()}",
                    prompt_ids=p.ids,
                    sampling=self.sampling(max_tokens, seed=1000 + i),
                    grammar=p.grammar if grammar else None,
                )
            )
        return out

    def run(self, requests: list[GenerationRequest]) -> tuple[list[Run], dict[str, float]]:
        """Submit all at once, wait for all; the runs and the engine counters' increase."""
        before = self.snapshot()
        runs = asyncio.run(self._run(requests))
        after = self.snapshot()
        for r, q in zip(runs, requests, strict=True):
            # under a grammar a real model may finish its call before max_tokens: the grammar
            # then ends the answer; rates are per token, so a shorter run still counts
            ended = r.finish == "length" or (r.finish == "stop" and q.grammar is not None)
            if not ended or r.error:
                raise RuntimeError(f"a benchmark request ended with {r.finish}: {r.error}")
        return runs, {k: after[k] - before[k] for k in after}

    async def _run(self, requests: list[GenerationRequest]) -> list[Run]:
        loop = asyncio.get_running_loop()

        async def one(request: GenerationRequest) -> Run:
            run = Run(submitted=time.perf_counter())
            handle = self.engine.submit(request, loop)
            async for event in handle:
                if event.token_ids:
                    run.times.append(time.perf_counter())
                    run.counts.append(event.completion_tokens)
                    if len(run.cpu) < 2:
                        run.cpu.append(time.process_time())
                    else:
                        run.cpu[-1] = time.process_time()
                if event.finish_reason is not None:
                    run.finish, run.error = event.finish_reason, event.error
            return run

        return list(await asyncio.gather(*(one(r) for r in requests)))

    def close(self) -> None:
        self.engine.shutdown()


def info(bench: Bench) -> dict[str, Any]:
    cfg = bench.engine.model.config
    return {
        "model": bench.name,
        "hidden_size": cfg.hidden_size,
        "layers": cfg.num_hidden_layers,
        "vocab": bench.engine.vocab,
        "parameters": sum(p.numel() for p in bench.engine.model.parameters()),
        "format": bench.format,
        "prompt_tokens": [len(p.ids) for p in bench.prompts],
        "torch_threads": torch.get_num_threads(),
    }
