"""Plain vLLM against strictcall on the same vLLM (issue 11): what the guarantee costs there.

`python -m bench.vllm` starts one vLLM (the real default model; its own hermes tool parser on,
the guidance backend for structured outputs) and one strictcall on it (`--engine-url`). The same
BFCL questions go to both, greedy, in `auto` and `required`:

- tokens/s at a fixed concurrency (completion tokens over wall time), and the ratio;
- time to first token (streaming: the first chunk that carries content or a call);
- the share of answers whose calls are all schema-valid (a name the request offered,
  arguments that parse and validate), and of `required` answers that call at all;
- time to first token with 100 BFCL tools in the request (streamed: for a call, the first
  chunk is the one that names the tool, so it comes some tokens after the first token);
- `first_token_100`: the latency of a one-token answer with 100 BFCL tools, non-streamed,
  one request at a time, the first (which fills vLLM's prefix cache) left out: prefill from
  the cache plus one step, and on strictcall's side the grammar before it (its own build, read
  from its /metrics, and vLLM's compile). The difference between the sides is what the
  grammar adds to the first token on vLLM.

Writes bench/results/vllm.json and .png (`--out NAME` for another name). `--vllm-arg` passes a
flag to vLLM (repeat it; `bench/gpu.sh` passes --tensor-parallel-size).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import openai

from bench import bfcl, common
from strictcall.engines.vllm_process import VllmProcess, resolve_python
from strictcall.weights import DEFAULT_MODEL, pull
from tests.conftest import Server

MODES = ("auto", "required")


def _valid(call: Any, tools: list[dict]) -> bool:
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    name, arguments = call["name"], call["arguments"]
    if name not in schemas:
        return False
    try:
        jsonschema.validate(json.loads(arguments), schemas[name])
    except (ValueError, jsonschema.ValidationError, jsonschema.SchemaError):
        return False
    return True


async def _one(
    client: openai.AsyncOpenAI, model: str, job: dict, mode: str, max_tokens: int
) -> dict[str, Any]:
    """One streamed request: its first-token time, tokens, and calls as reassembled."""
    t0 = time.perf_counter()
    first = None
    calls: dict[int, dict[str, str]] = {}
    tokens = 0
    finish = None
    try:
        stream = await client.chat.completions.create(
            model=model,
            messages=job["messages"],
            tools=job["tools"],
            tool_choice=mode,
            max_tokens=max_tokens,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            finish = chunk.choices[0].finish_reason or finish
            if first is None and (delta.content or delta.tool_calls):
                first = time.perf_counter() - t0
            for tc in delta.tool_calls or []:
                c = calls.setdefault(tc.index, {"name": "", "arguments": ""})
                if tc.function and tc.function.name:
                    c["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    c["arguments"] += tc.function.arguments
        error = None
    except openai.APIError as exc:
        error = str(exc)[:200]
    wall = time.perf_counter() - t0
    found = list(calls.values())
    return {
        "ttft_s": first,
        "wall_s": wall,
        "tokens": tokens,
        "calls": len(found),
        "finish": finish,
        "valid": error is None and all(_valid(c, job["tools"]) for c in found),
        "error": error,
    }


async def _batch(
    url: str, model: str, jobs: list[dict], mode: str, max_tokens: int, concurrency: int
) -> dict[str, Any]:
    async with openai.AsyncOpenAI(
        base_url=url + "/v1", api_key="unused", max_retries=0, timeout=600
    ) as client:
        gate = asyncio.Semaphore(concurrency)

        async def run(job: dict) -> dict[str, Any]:
            async with gate:
                return await _one(client, model, job, mode, max_tokens)

        t0 = time.perf_counter()
        rows = await asyncio.gather(*(run(j) for j in jobs))
        wall = time.perf_counter() - t0
    ttfts = [r["ttft_s"] for r in rows if r["ttft_s"] is not None]
    done = [r for r in rows if r["finish"] != "length"]
    return {
        "mode": mode,
        "requests": len(rows),
        "tokens_per_s": sum(r["tokens"] for r in rows) / wall,
        "ttft_s": common.summary(ttfts) if ttfts else None,
        # answers cut by max_tokens are left out: a call cut short is not a call
        "valid_share": sum(r["valid"] for r in done) / len(done) if done else None,
        "cut_by_max_tokens": len(rows) - len(done),
        "called_share": sum(r["calls"] > 0 for r in rows) / len(rows),
        "errors": [r["error"] for r in rows if r["error"]],
    }


def _metric(url: str, name: str) -> float:
    """One sample of a server's /metrics (0 where it has none)."""
    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def _first_token(url: str, model: str, job: dict, n: int) -> dict[str, Any]:
    """n + 1 one-token answers in turn; the first fills the prefix cache and is apart."""
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=600)
    grammar = "strictcall_grammar_build_seconds"
    latencies = []
    built = []
    for _ in range(n + 1):
        before = (_metric(url, grammar + "_sum"), _metric(url, grammar + "_count"))
        t0 = time.perf_counter()
        client.chat.completions.create(
            model=model,
            messages=job["messages"],
            tools=job["tools"],
            tool_choice="auto",
            max_tokens=1,
            temperature=0,
        )
        latencies.append(time.perf_counter() - t0)
        total, count = _metric(url, grammar + "_sum"), _metric(url, grammar + "_count")
        if count > before[1]:
            built.append((total - before[0]) / (count - before[1]))
    return {
        "mode": "first_token_100",
        "requests": n,
        # the first: prefill of the whole prompt, and each side's grammar the first time
        "first_latency_s": latencies[0],
        # the rest: the same request again (an agent's next turn)
        "latency_s": common.summary(latencies[1:]),
        # strictcall's own grammar build per request, the first time and again (none on vLLM)
        "first_grammar_build_s": built[0] if built else None,
        "grammar_build_s": common.summary(built[1:]) if len(built) > 1 else None,
    }


def _jobs(n: int) -> list[dict]:
    questions = bfcl.prompts()
    return [questions[i % len(questions)] for i in range(n)]


def measure(urls: dict[str, str], model: str, args: argparse.Namespace) -> dict[str, Any]:
    """Each mode on each side in turn (plain, then strictcall), so a machine whose load drifts
    weighs on both alike."""
    jobs = _jobs(args.requests)
    many = [{"messages": jobs[0]["messages"], "tools": bfcl.tools(100)}] * args.many_tools_requests
    out: dict[str, dict[str, Any]] = {side: {} for side in urls}
    for mode in args.modes:
        for side, url in urls.items():
            if mode == "first_token_100":
                row = _first_token(url, model, many[0], args.many_tools_requests)
                common.log(f"  {side} {mode}: {json.dumps(row)}")
                out[side][mode] = row
                continue
            if mode == "tools_100":
                row = asyncio.run(_batch(url, model, many, "auto", 16, 1))
            else:
                row = asyncio.run(_batch(url, model, jobs, mode, args.max_tokens, args.concurrency))
            out[side][mode] = row
            common.log(
                f"  {side} {mode}: {row['tokens_per_s']:.1f} tok/s, valid "
                f"{row['valid_share']}, cut {row['cut_by_max_tokens']}, "
                f"errors {len(row['errors'])} {row['errors'][:1]}"
            )
    return out


def _plot(plain: dict[str, Any], ours: dict[str, Any]):
    fig, axes = common.panels(4, 3.6, 3.0, columns=4)
    sides = (("plain vLLM", plain), ("strictcall on vLLM", ours))
    modes = [m for m in MODES if m in plain]
    panels = (
        ("tokens/s", lambda d, m: d[m]["tokens_per_s"]),
        ("TTFT median (s)", lambda d, m: (d[m]["ttft_s"] or {}).get("median", 0)),
        ("schema-valid share", lambda d, m: d[m]["valid_share"] or 0),
    )
    for ax, (title, value) in zip(axes, panels, strict=False):
        for k, (label, d) in enumerate(sides):
            xs = [i + k * 0.4 for i in range(len(modes))]
            ax.bar(xs, [value(d, m) for m in modes], width=0.4, label=label)
        ax.set_xticks([i + 0.2 for i in range(len(modes))], modes)
        ax.set_title(title)
    ax = axes[3]
    for k, (label, d) in enumerate(sides):
        bars = [
            ("TTFT, streamed", (d.get("tools_100", {}).get("ttft_s") or {}).get("median", 0)),
            ("1-token answer", d.get("first_token_100", {}).get("latency_s", {}).get("median", 0)),
        ]
        ax.bar([i + k * 0.4 for i in range(2)], [v for _, v in bars], width=0.4, label=label)
    ax.set_xticks([0.2, 1.2], ["TTFT, streamed", "1-token answer"])
    ax.set_title("100 BFCL tools: median (s)")
    axes[0].legend(fontsize=7)
    return fig


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.vllm", description=__doc__)
    p.add_argument("--model", help="a model directory (default: the real default model)")
    p.add_argument("--vllm-python", help="vLLM's venv python (default .venv-vllm/bin/python)")
    p.add_argument("--vllm-arg", action="append", default=[], help="a flag passed to vLLM")
    p.add_argument("--requests", type=int, default=16, help="per mode and side")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--many-tools-requests", type=int, default=3)
    # 100 BFCL tools are ~14k prompt tokens
    p.add_argument("--max-model-len", type=int, default=20480)
    p.add_argument("--out", default="vllm")
    p.add_argument(
        "--modes",
        type=lambda v: v.split(","),
        default=[*MODES, "tools_100", "first_token_100"],
        help="comma-separated, of auto, required, tools_100, first_token_100 (default: all)",
    )
    args = p.parse_args(argv)
    model = args.model or str(pull(DEFAULT_MODEL, common.ROOT.parent / ".cache" / "models"))
    vllm_args = [
        "--max-model-len",
        str(args.max_model_len),
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
        *args.vllm_arg,
    ]
    vllm = VllmProcess(resolve_python(args.vllm_python), model, vllm_args)
    common.log(f"starting vLLM ({' '.join(vllm.cmd)})")
    started = time.perf_counter()
    vllm.start(on_death=lambda code: os._exit(1))
    startup = time.perf_counter() - started
    server = None
    try:
        server = Server(Path(model), "--engine-url", vllm.url, startup_timeout=300)
        sides = measure({"plain": vllm.url, "strictcall": server.url}, model, args)
        plain, ours = sides["plain"], sides["strictcall"]
    finally:
        if server is not None:
            server.stop()
        vllm.stop()
    ratio = {
        m: ours[m]["tokens_per_s"] / plain[m]["tokens_per_s"] if plain[m]["tokens_per_s"] else None
        for m in MODES
        if m in plain
    }
    data = {
        "model": model,
        "vllm_args": vllm_args,
        "vllm_startup_s": startup,
        "settings": vars(args),
        "plain_vllm": plain,
        "strictcall_on_vllm": ours,
        "tokens_per_s_ratio": ratio,  # goal >= 0.95
    }
    path = common.write(args.out, data, _plot(plain, ours))
    common.log(f"ratio strictcall/plain tokens/s: {ratio}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
