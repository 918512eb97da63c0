"""The summary tables in bench/README.md, rebuilt from bench/results/*.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT

README = ROOT / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _parse(d: dict[str, Any]) -> str:
    rows = []
    for r in d["rows"]:
        ours, base = r["ours"], r["baseline"]
        per_delta = ours["per_delta_ns"]
        rows.append(
            [
                r["format"],
                f"{r['size'] // 1024} KB",
                f"{r['deltas']:,}",
                f"{per_delta['median'] / 1e3:.2f} / {per_delta['p99'] / 1e3:.2f}",
                f"{ours['late_over_early']:.2f}",
                f"{ours['ns_per_byte']:.0f}",
                f"{base['per_delta_ns']['median'] / 1e3:,.0f}",
                f"{base['ns_per_byte']:,.0f}",
                f"**x{r['baseline_over_ours_total']:,.0f}**",
            ]
        )
    return _table(
        [
            "format",
            "arguments",
            "deltas",
            "µs per delta, median / p99",
            "late / early deltas",
            "ns per byte",
            "re-parse µs per delta (median)",
            "re-parse ns per byte",
            "re-parse / strictcall",
        ],
        rows,
    )


def _grammar_goals(d: dict[str, Any]) -> str:
    g = d.get("goals")
    if not g:
        return ""
    t = g["targets"]
    lines = [
        ("100 tools, first time, p50", "cold_100", "p50", t["cold_100_p50_ms"]),
        ("100 tools, first time, p99", "cold_100", "p99", t["cold_100_p99_ms"]),
        ("100 tools again, p50", "repeat_100", "p50", t["repeat_100_ms"]),
        ("100 tools again, p99", "repeat_100", "p99", t["repeat_100_ms"]),
        ("1 tool, first time, p50", "cold_1", "p50", t["cold_1_ms"]),
        ("1 tool, first time, p99", "cold_1", "p99", t["cold_1_ms"]),
    ]
    rows = []
    for label, key, q, target in lines:
        wall, cpu = g[f"{key}_wall_{q}_ms"], g[f"{key}_cpu_{q}_ms"]
        rows.append([label, f"{target:g}", f"{wall:.2f}", f"{cpu:.2f}", _met(wall, cpu, target)])
    peer = d.get("xgrammar")
    note = ""
    if peer:
        by_n = {r["tools"]: r for r in peer["rows"]}
        parts = [
            f"{n} tools {r['first_mask_ms']:.1f} ms first time, {r['repeat_ms']:.2f} ms again"
            for n, r in sorted(by_n.items())
        ]
        note = f"\n\nPeer, xgrammar {peer['version']} on vLLM's `required` schema: " + "; ".join(
            parts
        )
    ab = d.get("schema_ab")
    if ab:
        note += (
            f"\n\nSchema step, {ab['tools']} BFCL tools the first time (CPU, same run): "
            f"{ab['plain_path_cpu_ms']:.1f} ms with the plain-schema fast path, "
            f"{ab['full_checks_cpu_ms']:.1f} ms through the full checks."
        )
    floor = d.get("llguidance_floors")
    if floor:
        note += (
            "\n\nllguidance alone, 152k vocabulary, CPU ms to the first mask (same run): a "
            f"one-literal Lark grammar {floor['lark_one_literal_cpu_ms']:.2f} (its Lark front "
            "end's fixed cost per matcher), the same as a JSON Schema "
            f"{floor['json_schema_integer_cpu_ms']:.2f}, free text that refuses the markers "
            f"(hermes' `auto`) {floor['lark_free_text_cpu_ms']:.2f}."
        )
    load = d.get("load_average_before")
    if load:
        note += (
            f"\n\nLoad average before the run: {load[0]:.1f} on {d['machine']['cpu_count']} cores."
        )
    table = _table(
        ["goal (152k vocabulary, every format and mode)", "target ms", "wall ms", "CPU ms", "met"],
        rows,
    )
    return table + note + "\n\n"


def _met(wall: float, cpu: float, target: float) -> str:
    if wall <= target:
        return "yes"
    return "CPU time only" if cpu <= target else "no"


def _grammar(d: dict[str, Any]) -> str:
    rows = []
    for r in d["rows"]:
        if r["mode"] != "required":
            continue
        rows.append(
            [
                f"{r['vocab']:,}",
                r["format"],
                str(r["tools"]),
                f"{r['schema_cpu_ms']:.1f}",
                f"{r['lark_cpu_ms']:.1f}",
                f"{r['compile_cpu_ms']:.1f}",
                f"{r['mask_cpu_ms']:.2f}",
                f"**{r['first_mask_cpu_ms']:.1f}** ({r['first_mask_ms']:.1f}; "
                f"p99 {r['first_mask_ms_p99']:.1f})",
                f"{r['repeat_cpu_ms']:.2f} ({r['repeat_ms']:.2f})",
                f"{r['mask_per_token_us']:.0f} / {r['mask_per_token_p99_us']:.0f}",
            ]
        )
    return _grammar_goals(d) + _table(
        [
            "vocab",
            "format",
            "tools",
            "schema check",
            "Lark",
            "LLMatcher",
            "first mask",
            "time to first mask (wall; wall p99)",
            "same tools again (wall)",
            "then per mask, µs median / p99",
        ],
        rows,
    )


def _decode(d: dict[str, Any]) -> str:
    rows = []
    for m in d["models"]:
        s = m["summary"]
        ok = "yes" if s["ratio_median"] >= s["target"] else "no"
        rows.append(
            [
                f"{m['model']} ({m['hidden_size']}-dim, {m['layers']} layers, "
                f"{m['parameters'] / 1e6:.1f}M params)",
                f"{m['vocab']:,}",
                f"{s['plain_tokens_per_s']:.1f}",
                f"{s['grammar_tokens_per_s']:.1f}",
                f"**{s['ratio_median']:.3f}** ({s['ratio_p25']:.3f}-{s['ratio_p75']:.3f})",
                f"**{s['cpu_ratio_median']:.3f}**",
                f"{s['plain_cpu_ms_per_token']:.2f} / {s['grammar_cpu_ms_per_token']:.2f}",
                f"{s['grammar_ms_per_token']['mask_compute_overlapped']:.2f} / "
                f"{s['grammar_ms_per_token']['mask_wait']:.2f}",
                ok,
            ]
        )
    return _table(
        [
            "model",
            "vocab",
            "plain tok/s",
            "grammar tok/s",
            "ratio, median of pairs (IQR)",
            "CPU-time ratio",
            "CPU ms/token plain / grammar",
            "mask ms/token computed / waited for",
            ">= 0.97 (wall)",
        ],
        rows,
    )


def _concurrency(d: dict[str, Any]) -> str:
    rows = []
    for m in d["models"]:
        for side in ("plain", "grammar"):
            cells = [f"{x['decode_tokens_per_s']:,.1f} (x{x['ratio_to_c1']:.2f})" for x in m[side]]
            cpu = " / ".join(f"{x['cpu_ms_per_token']:.2f}" for x in m[side])
            wait = " / ".join(
                f"{x['mask_wait_ms_per_token'] * 1e3:.0f}" if "mask_wait_ms_per_token" in x else "-"
                for x in m[side]
            )
            rows.append([m["model"], side, *cells, cpu, wait if side == "grammar" else ""])
    levels = [f"c={c}: tok/s (vs c=1)" for c in d["levels"]]
    at = " / ".join(f"c={c}" for c in d["levels"])
    return _table(
        ["model", "side", *levels, f"CPU ms per token at {at}", f"mask wait µs/token at {at}"],
        rows,
    )


def _forced(d: dict[str, Any]) -> str:
    rows = [
        [
            m["model"],
            f"{m['vocab']:,}",
            f"{m['fed_ahead_share']:.0%}",
            f"{m['passes_per_token_on']:.2f}",
            f"{m['ff on tokens_per_s']:.1f} / {m['ff off tokens_per_s']:.1f} / "
            f"{m['plain tokens_per_s']:.1f}",
            f"**{m['ratio_ff_over_plain']:.2f}**",
            f"{m['ratio_ff_on_over_off']:.2f}",
            f"{m['ff on latency_ms']:.0f} / {m['ff off latency_ms']:.0f}",
        ]
        for m in d["models"]
    ]
    return _table(
        [
            "model",
            "vocab",
            "tokens fed ahead",
            "forward passes per token",
            "tok/s ff on / off / plain",
            "ff on / plain",
            "ff on / off",
            "answer ms ff on / off",
        ],
        rows,
    )


def _machine(d: dict[str, Any]) -> str:
    m = d["machine"]
    load = ", ".join(f"{x:.1f}" for x in m.get("load_average") or [])
    return (
        f"{m['cpu_count']} CPUs ({m['cpu']}), load average {load} when it started; "
        f"torch {m['torch']} ({m['torch_threads']} thread), llguidance {m['llguidance']}, "
        f"transformers {m['transformers']}; {d['when']}"
    )


def tables() -> str:
    parts = []
    sections = (
        ("parse", "Streaming parse cost per delta (4-character deltas)", _parse),
        (
            "grammar",
            "Grammar build per request, BFCL tools, tool_choice required (CPU ms; wall in "
            "parentheses)",
            _grammar,
        ),
        ("decode", "Tokens/s with and without the grammar (concurrency 1)", _decode),
        ("concurrency", "Tokens/s at concurrency 1, 4, 16 (while all are decoding)", _concurrency),
        (
            "concurrency-real",
            "The same on the real default model (`python -m bench.concurrency --model "
            ".cache/models/qwen2.5-coder-0.5b-instruct --out concurrency-real`)",
            _concurrency,
        ),
        (
            "forced",
            "Fast-forward: tool-call answers (greedy, tools in the prompt, one call), "
            "grammar with forced tokens fed ahead / one token per pass / no grammar",
            _forced,
        ),
        (
            "forced-real",
            "The same on the real default model (`python -m bench.forced --model "
            ".cache/models/qwen2.5-coder-0.5b-instruct --out forced-real`)",
            _forced,
        ),
    )
    for name, title, fmt in sections:
        d = _load(name)
        if d is None:
            parts.append(f"#### {title}\n\nnot run yet: `python -m bench {name}`")
            continue
        parts.append(
            f"#### {title}\n\n{fmt(d)}\n\n![{name}](results/{name}.png)\n\n<sub>{_machine(d)}</sub>"
        )
    return "\n\n".join(parts)


def redraw() -> list[Path]:
    """parse.png and grammar.png drawn again from their JSON (no benchmark is run)."""
    from bench import common, grammar, parse

    drawn = []
    plots = {
        "parse": lambda d: parse._plot(d["rows"]),
        "grammar": lambda d: grammar._plot(d["rows"], d.get("xgrammar")),
    }
    for name, plot in plots.items():
        d = _load(name)
        if d is not None:
            figure = plot(d)
            path = RESULTS / f"{name}.png"
            figure.savefig(path, dpi=90, bbox_inches="tight")
            common.pyplot().close(figure)
            drawn.append(path)
    return drawn


def update(readme: Path = README) -> None:
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{tables()}\n{END}{tail}")


if __name__ == "__main__":
    redraw()
    update()
