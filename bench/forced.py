"""Fast-forward: tool-call answers with the grammar's forced tokens fed ahead.

Each BFCL question (its tools rendered in the prompt; tool_choice required, one call; greedy)
is answered three ways on one engine, in rotating order so drifting load hits all alike:
  ff on   grammar, forced tokens fed ahead and verified (engines/embedded.py `_advance`);
  ff off  grammar, one forward pass per token;
  plain   no grammar.
The outputs of `ff on` and `ff off` are checked to be identical, token for token. Reported per
model: end-to-end latency of the answer (submit to last token), decode tokens/s (after the first
token), forward passes per token, the share of tokens that came from kept drafts, and the
ratios: grammar with fast-forward over plain (the goal: above 1.0 for tool-call answers) and
fast-forward on over off.

The random benchmark models (bench.models) rarely write a forced text the way llguidance
tokenizes it, so most of their drafts are cut at the first token; a trained model writes the
canonical tokens and keeps most of them. Run it on a real model:
  python -m bench.forced --model /path/to/Qwen2.5-Coder-0.5B-Instruct [--device cuda]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench import common, models
from bench.engine import Bench, info
from strictcall.engines.base import GenerationRequest, SamplingParams

SIDES = ("ff on", "ff off", "plain")


async def _one(bench: Bench, request: GenerationRequest) -> dict[str, Any]:
    submitted = time.perf_counter()
    handle = bench.engine.submit(request, asyncio.get_running_loop())
    tokens: list[int] = []
    times: list[float] = []
    finish = None
    async for event in handle:
        if event.token_ids:
            tokens += event.token_ids
            times.append(time.perf_counter())
        if event.error:
            raise RuntimeError(f"{request.request_id}: {event.error}")
        finish = event.finish_reason
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    return {
        "tokens": tokens,
        "finish": finish,
        "latency_s": times[-1] - submitted,
        "first_token_s": times[0] - submitted,
        "decode_tokens_per_s": (len(tokens) - 1) / span if span > 0 else float("nan"),
    }


def _side(bench: Bench, prompt_index: int, side: str, max_tokens: int) -> dict[str, Any]:
    p = bench.prompts[prompt_index % len(bench.prompts)]
    bench.engine.config.fast_forward = side == "ff on"
    request = GenerationRequest(
        request_id=f"forced-{prompt_index}-{side}-{time.monotonic_ns()}",
        prompt_ids=p.ids,
        sampling=SamplingParams(max_tokens=max_tokens, temperature=0.0),
        grammar=None if side == "plain" else p.grammar,
    )
    before = dict(bench.engine.stats)
    result = asyncio.run(_one(bench, request))
    after = bench.engine.stats
    steps = after["steps"] - before["steps"] + 1  # the first token comes from the prefill
    result["forward_passes"] = steps
    result["forced_tokens"] = after["forced_tokens"] - before["forced_tokens"]
    result["draft_fed"] = after["draft_fed"] - before["draft_fed"]
    return result


def measure(model: models.ModelSpec | str, args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(
        model,
        max_batch=1,
        device=args.device,
        dtype=args.dtype,
        tools_in_prompt=True,
        parallel=False,
    )
    try:
        for i in range(args.prompts):  # warm up: compile every grammar once, as a server has
            _side(bench, i, "ff off", 2)
        rows = []
        for i in range(args.prompts * args.rounds):
            sides = {}
            order = SIDES[i % 3 :] + SIDES[: i % 3]
            for side in order:
                sides[side] = _side(bench, i, side, args.max_tokens)
            identical = sides["ff on"]["tokens"] == sides["ff off"]["tokens"]
            if not identical:
                raise AssertionError(f"prompt {i}: fast-forward changed the output")
            on, off, plain = (sides[s] for s in SIDES)
            rows.append(
                {
                    "prompt": bench.prompts[i % len(bench.prompts)].id,
                    **{
                        side: {k: v for k, v in r.items() if k != "tokens"}
                        | {"n_tokens": len(r["tokens"])}
                        for side, r in sides.items()
                    },
                    "ratio_ff_over_plain": on["decode_tokens_per_s"] / plain["decode_tokens_per_s"],
                    "ratio_ff_on_over_off": on["decode_tokens_per_s"] / off["decode_tokens_per_s"],
                    "latency_ff_on_over_off": on["latency_s"] / off["latency_s"],
                }
            )
            common.log(
                f"forced {bench.name}: prompt {i:2d}: {len(on['tokens'])} tokens, "
                f"{on['forced_tokens']} of {on['draft_fed']} fed ahead kept, "
                f"{on['forward_passes']} passes (off "
                f"{off['forward_passes']}); tok/s on {on['decode_tokens_per_s']:.0f} off "
                f"{off['decode_tokens_per_s']:.0f} plain {plain['decode_tokens_per_s']:.0f}"
            )
        return {**info(bench), "max_tokens": args.max_tokens, "rows": rows, **_summary(rows)}
    finally:
        bench.close()


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def med(side: str, key: str) -> float:
        return common.median([r[side][key] for r in rows])

    tokens = sum(r["ff on"]["n_tokens"] for r in rows)
    out: dict[str, Any] = {
        "ratio_ff_over_plain": common.median([r["ratio_ff_over_plain"] for r in rows]),
        "ratio_ff_on_over_off": common.median([r["ratio_ff_on_over_off"] for r in rows]),
        "latency_ff_on_over_off": common.median([r["latency_ff_on_over_off"] for r in rows]),
        "fed_ahead_share": sum(r["ff on"]["forced_tokens"] for r in rows) / max(1, tokens),
        # of the draft tokens fed ahead, the share the model then chose (the rest was computed
        # for nothing: almost free where a pass is memory-bound, a GPU's; not on a CPU)
        "draft_kept_share": sum(r["ff on"]["forced_tokens"] for r in rows)
        / max(1, sum(r["ff on"]["draft_fed"] for r in rows)),
        "passes_per_token_on": sum(r["ff on"]["forward_passes"] for r in rows) / max(1, tokens),
    }
    for side in SIDES:
        out[f"{side} tokens_per_s"] = med(side, "decode_tokens_per_s")
        out[f"{side} latency_ms"] = med(side, "latency_s") * 1e3
    return out


def _plot(results: list[dict[str, Any]]):
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    left, right = axes
    width = 0.8 / len(SIDES)
    for k, side in enumerate(SIDES):
        xs = [i + (k - 1) * width for i in range(len(results))]
        left.bar(xs, [r[f"{side} tokens_per_s"] for r in results], width, label=side)
        right.bar(xs, [r[f"{side} latency_ms"] for r in results], width, label=side)
    names = [f"{r['model']}\n(fed ahead {r['fed_ahead_share']:.0%})" for r in results]
    for ax, label in ((left, "decode tokens/s (median)"), (right, "answer latency, ms (median)")):
        ax.set_xticks(range(len(results)), names, fontsize=8)
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    left.set_title("Tool-call answers, greedy: tokens/s", fontsize=10)
    right.set_title("Tool-call answers, greedy: submit to last token", fontsize=10)
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        help="model directory, or demo / large (bench.models); default: demo and large",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--prompts", type=int, default=6, help="BFCL questions")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU")
    parser.add_argument("--out", default="forced", help="bench/results/OUT.json and .png")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    targets: list[models.ModelSpec | str] = [
        models.SPECS.get(m, m) for m in args.model or ["demo", "large"]
    ]
    results = []
    for target in targets:
        r = measure(target, args)
        common.log(
            f"forced {r['model']}: tokens/s ff on / plain {r['ratio_ff_over_plain']:.3f}, "
            f"ff on / off {r['ratio_ff_on_over_off']:.3f}; fed ahead {r['fed_ahead_share']:.1%}"
        )
        results.append(r)
    common.write(args.out, {"models": results}, _plot(results))


if __name__ == "__main__":
    main()
