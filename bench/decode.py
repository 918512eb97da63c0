"""Tokens/s with and without the grammar, on the same prompts (target: ratio >= 0.97).

Each pair is one request with the grammar and one without: same prompt, seed and max_tokens,
fixed-length generation (see bench.engine), run one after the other in alternating order so
that drifting load on a shared machine hits both sides alike. Decode rate counts the tokens
after the first one (prefill and grammar compile excluded: benchmark `grammar` has those).

Reported per model: the median of the pairs' ratios (grammar tokens/s over plain tokens/s),
the ratio of CPU time per token (all threads of the process; other processes on the machine
do not inflate it, so it is the steadier number on a shared box), and where a token's time
goes: forward pass, mask computation (on the helper thread, overlapped with the forward), the
part of it the loop waits for, choosing the token (sampling, with the mask applied) and
accepting it (grammar advance, detokenize, emit).
"""

from __future__ import annotations

from typing import Any

from bench import common, models
from bench.engine import Bench, Run, info

TARGET = 0.97
# (model, max_tokens, pairs): the large model costs ~20x more per token
PLAN = ((models.DEMO, 128, 16), (models.LARGE, 48, 10))


def _breakdown(run: Run, d: dict[str, float]) -> dict[str, float]:
    """Wall milliseconds per decoded token, by where they went."""
    steps = max(1, int(d["steps"]))
    tokens = max(1, run.tokens)
    per_token = 1e3 / run.decode_rate()
    parts = {
        "forward": d["forward_s"] * 1e3 / steps,
        "mask_wait": d["mask_wait_s"] * 1e3 / steps,
        "choose": d["_choose"] * 1e3 / tokens,
        "accept": d["_accept"] * 1e3 / tokens,
    }
    parts["other"] = max(0.0, per_token - sum(parts.values()))
    parts["mask_compute_overlapped"] = d["_masks"] * 1e3 / tokens
    parts["total"] = per_token
    return parts


def _cpu_breakdown(d: dict[str, float]) -> dict[str, float]:
    """CPU milliseconds per decode step, by thread and part (what waiting for a core, the GIL
    or the other thread does not inflate). `forward` is the loop thread's step minus choosing
    and accepting, so it holds the loop's own bookkeeping too."""
    steps = max(1, int(d["steps"]))
    choose, accept = d["_choose_cpu"] * 1e3 / steps, d["_accept_cpu"] * 1e3 / steps
    return {
        "forward": d["_decode_cpu"] * 1e3 / steps - choose - accept,
        "choose": choose,
        "accept": accept,
        "masks (helper thread)": d["_masks_cpu"] * 1e3 / steps,
    }


def _side(run: Run, d: dict[str, float]) -> dict[str, Any]:
    return {
        "tokens": run.tokens,
        "tokens_per_s": run.decode_rate(),
        "cpu_ms_per_token": run.decode_cpu_per_token() * 1e3,
        "ms_per_token": _breakdown(run, d),
        "cpu_ms_per_step": _cpu_breakdown(d),
    }


def measure(spec: models.ModelSpec, max_tokens: int, pairs: int) -> dict[str, Any]:
    bench = Bench(spec)
    try:
        for grammar in (True, False):  # warm up both paths
            bench.run(bench.requests(1, 8, grammar))
        rows = []
        for i in range(pairs):
            order = (True, False) if i % 2 == 0 else (False, True)
            sides = {}
            for grammar in order:
                runs, d = bench.run(bench.requests(1, max_tokens, grammar, first=i))
                sides["grammar" if grammar else "plain"] = _side(runs[0], d)
            g, p = sides["grammar"], sides["plain"]
            rows.append(
                {
                    "prompt": bench.prompts[i % len(bench.prompts)].id,
                    "grammar_first": order[0],
                    **sides,
                    "ratio": g["tokens_per_s"] / p["tokens_per_s"],
                    "cpu_ratio": p["cpu_ms_per_token"] / g["cpu_ms_per_token"],
                }
            )
            common.log(
                f"decode {spec.name:5s} pair {i:2d}: grammar {g['tokens_per_s']:7.1f} tok/s, "
                f"plain {p['tokens_per_s']:7.1f} tok/s, ratio {rows[-1]['ratio']:.3f} "
                f"(cpu {rows[-1]['cpu_ratio']:.3f})"
            )
        return {**info(bench), "max_tokens": max_tokens, "pairs": rows, "summary": _summary(rows)}
    finally:
        bench.close()


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ratios = [r["ratio"] for r in rows]
    out: dict[str, Any] = {
        "ratio_median": common.median(ratios),
        "ratio_p25": common.percentile(ratios, 25),
        "ratio_p75": common.percentile(ratios, 75),
        "cpu_ratio_median": common.median([r["cpu_ratio"] for r in rows]),
        "target": TARGET,
    }
    for side in ("grammar", "plain"):
        out[f"{side}_tokens_per_s"] = common.median([r[side]["tokens_per_s"] for r in rows])
        out[f"{side}_cpu_ms_per_token"] = common.median([r[side]["cpu_ms_per_token"] for r in rows])
        for what in ("ms_per_token", "cpu_ms_per_step"):
            keys = rows[0][side][what]
            out[f"{side}_{what}"] = {
                k: common.median([r[side][what][k] for r in rows]) for k in keys
            }
    out["ratio_of_medians"] = out["grammar_tokens_per_s"] / out["plain_tokens_per_s"]
    out["meets_target"] = out["ratio_median"] >= TARGET
    return out


def run(plan=PLAN) -> dict[str, Any]:
    results = []
    for spec, max_tokens, pairs in plan:
        r = measure(spec, max_tokens, pairs)
        s = r["summary"]
        common.log(
            f"decode {spec.name}: ratio {s['ratio_median']:.3f} (IQR {s['ratio_p25']:.3f}-"
            f"{s['ratio_p75']:.3f}), CPU-time ratio {s['cpu_ratio_median']:.3f}"
        )
        results.append(r)
    data = {"target": TARGET, "models": results}
    common.write("decode", data, _plot(results))
    return data


def _plot(results: list[dict[str, Any]]):
    plt = common.pyplot()
    fig, axes = plt.subplots(1, len(results) + 1, figsize=(5 * (len(results) + 1), 4.2))
    for ax, r in zip(axes, results, strict=False):
        s = r["summary"]
        sides = ("plain", "grammar")
        parts = list(s["plain_cpu_ms_per_step"])
        left = [0.0, 0.0]
        for i, part in enumerate(parts):
            values = [s[f"{side}_cpu_ms_per_step"][part] for side in sides]
            ax.barh(sides, values, left=left, color=f"C{i}", label=part)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_xlabel("CPU ms per decode step (median)")
        ax.set_title(
            f"{r['model']} ({r['hidden_size']}-dim, {r['layers']} layers, vocab {r['vocab']:,})",
            fontsize=10,
        )
        ax.legend(fontsize=7, loc="lower right")
    right = axes[-1]
    for i, r in enumerate(results):
        ratios = [p["ratio"] for p in r["pairs"]]
        cpu = [p["cpu_ratio"] for p in r["pairs"]]
        right.scatter([i - 0.1] * len(ratios), ratios, color="C0", label="wall" if i == 0 else None)
        right.scatter([i + 0.1] * len(cpu), cpu, color="C1", label="CPU time" if i == 0 else None)
    right.axhline(TARGET, color="red", linestyle="--", label=f"target {TARGET}")
    right.set_xticks(range(len(results)), [r["model"] for r in results])
    right.set_xlim(-0.5, len(results) - 0.5)
    right.set_ylabel("grammar / plain tokens/s, per pair")
    right.set_title("Throughput ratio with the grammar", fontsize=10)
    right.legend(fontsize=8)
    right.grid(True, alpha=0.3)
    return fig


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    run()
