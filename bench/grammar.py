"""Grammar build time per request, for 1, 10 and 100 BFCL tools.

What the server does for every request with tools, timed step by step:
  schema   BFCL dialect -> JSON Schema, check_schema (its compile cache cleared first, so
           this is a tool set seen for the first time), normalize_parameters;
  lark     Format.grammar(ConstraintSpec) for every registered format;
  compile  an llguidance LLMatcher from that Lark with a real tokenizer;
  mask     the first token mask.
`first_mask_ms`, the sum, is what a request waits before its first constrained token. Every
step is also timed in CPU time of the thread (`*_cpu_ms`), which waiting for a core on a
shared machine does not inflate.
`warm_first_mask_ms` is the same request again (an agent sends the same tools every turn):
check_schema's compile cache is warm then, nothing else is cached.
Then the steady state: a walk of up to 64 tokens through the grammar (each step picks a random
allowed token, never the end), timing each mask as the engine's helper thread computes it.
Tokenizer setup (llguidance's view of the vocabulary) happens once per server, not per
request, and is reported apart. Both tokenizers of bench.models are used: the demo one
(~1.6k tokens) and the widened one with a real model's vocabulary size (151,936).
"""

from __future__ import annotations

import functools
import random
from typing import Any

import llguidance
import llguidance.hf
import numpy as np

from bench import bfcl, common, models
from strictcall.chat.tokenizer import load_tokenizer
from strictcall.formats import ConstraintSpec, ToolSpec, format_names, get_format
from strictcall.grammar import schema as schema_mod

TOOL_COUNTS = (1, 10, 100)
MODES = ("auto", "required")
REPEATS = 5


def tool_specs(tools: list[dict]) -> tuple[ToolSpec, ...]:
    """What the pipeline (api/pipeline/checks.py) does with a request's tools."""
    specs = []
    for tool in tools:
        fn = tool["function"]
        schema_mod.check_schema(fn["parameters"])
        specs.append(ToolSpec(fn["name"], schema_mod.normalize_parameters(fn["parameters"])))
    return tuple(specs)


@functools.cache
def usable_tools(name: str) -> tuple[list[dict], int]:
    """The shipped BFCL tools `name` can enforce, in order, and how many it refused.

    Formats that write values outside JSON refuse some schemas by keyword (Qwen3-Coder cannot
    hold a raw string to a `format`); a request with such a tool gets a 400, so the benchmark
    builds its tool sets from the tools the format accepts, and reports the refusals.
    """
    fmt = get_format(name)
    usable, refused = [], 0
    for tool in bfcl.tools():
        spec = tool_specs([tool])
        try:
            fmt.grammar(ConstraintSpec(tools=spec, mode="required"))
        except schema_mod.SchemaError:
            refused += 1
            continue
        usable.append(tool)
    return usable, refused


def _grammar_formats() -> list[str]:
    names = []
    probe = ConstraintSpec(tools=(ToolSpec("f", schema_mod.normalize_parameters(None)),))
    for name in format_names():
        try:
            if get_format(name).grammar(probe) is not None:
                names.append(name)
        except NotImplementedError:
            continue
    return names


WALK_STEPS = 64


def mask_walk(matcher: llguidance.LLMatcher, eos: set[int], seed: int) -> list[float]:
    """Seconds per mask along a random walk through the grammar's allowed tokens."""
    rng = random.Random(seed)
    times = []
    for _ in range(WALK_STEPS):
        with common.Timer() as t:
            mask = matcher.compute_bitmask()
        times.append(t.s)
        bits = np.unpackbits(np.frombuffer(mask, dtype=np.uint8), bitorder="little")
        allowed = [int(i) for i in np.flatnonzero(bits) if int(i) not in eos]
        if not allowed or not matcher.consume_token(rng.choice(allowed)):
            break
    return times


def once(
    name: str, n: int, mode: str, lltok, special: dict[str, int], cold: bool = True
) -> dict[str, float]:
    fmt = get_format(name)
    if cold:  # a tool set seen for the first time: none of the schema caches help
        schema_mod._check_cached.cache_clear()
        schema_mod._compile_problem.cache_clear()
    with common.Timer() as t_schema:
        specs = tool_specs(usable_tools(name)[0][:n])
    with common.Timer() as t_lark:
        grammar = fmt.grammar(
            ConstraintSpec(tools=specs, mode=mode, parallel=True, special_tokens=special)
        )
    assert grammar is not None
    with common.Timer() as t_compile:
        matcher = llguidance.LLMatcher(
            lltok, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0
        )
    if matcher.is_error():
        raise RuntimeError(f"{name}, {n} tools: {matcher.get_error()}")
    with common.Timer() as t_mask:
        mask = matcher.compute_bitmask()
    assert any(mask), "the first mask allows nothing"
    steps = (t_schema, t_lark, t_compile, t_mask)
    wall, cpu = sum(t.s for t in steps) * 1e3, sum(t.cpu for t in steps) * 1e3
    if not cold:
        return {"warm_first_mask_ms": wall, "warm_first_mask_cpu_ms": cpu}
    walk = mask_walk(matcher, set(lltok.eos_tokens), seed=n)
    return {
        "mask_per_token_us": common.median(walk) * 1e6,
        "mask_per_token_p99_us": common.percentile(walk, 99) * 1e6,
        "schema_ms": t_schema.s * 1e3,
        "lark_ms": t_lark.s * 1e3,
        "compile_ms": t_compile.s * 1e3,
        "mask_ms": t_mask.s * 1e3,
        "schema_cpu_ms": t_schema.cpu * 1e3,
        "lark_cpu_ms": t_lark.cpu * 1e3,
        "compile_cpu_ms": t_compile.cpu * 1e3,
        "mask_cpu_ms": t_mask.cpu * 1e3,
        "first_mask_ms": wall,
        "first_mask_cpu_ms": cpu,
        "grammar_bytes": len(grammar.encode()),
    }


def run() -> dict[str, Any]:
    rows = []
    tokenizers = []
    formats = _grammar_formats()
    for spec in (models.DEMO, models.LARGE):
        tok = load_tokenizer(str(models.build(spec)))
        with common.Timer() as t_tok:
            lltok = llguidance.hf.from_tokenizer(tok.hf, eos_token=tok.eos_ids)
        tokenizers.append(
            {"model": spec.name, "vocab": lltok.vocab_size, "setup_ms": t_tok.s * 1e3}
        )
        common.log(f"grammar: {spec.name} tokenizer, {lltok.vocab_size} tokens")
        once(formats[0], 10, "auto", lltok, tok.special_tokens)  # warm up
        for name in formats:
            for n in TOOL_COUNTS:
                for mode in MODES:
                    reps = []
                    for _ in range(REPEATS):
                        cold = once(name, n, mode, lltok, tok.special_tokens)
                        warm = once(name, n, mode, lltok, tok.special_tokens, cold=False)
                        reps.append({**cold, **warm})
                    row = {
                        "tokenizer": spec.name,
                        "vocab": lltok.vocab_size,
                        "format": name,
                        "tools": min(n, len(usable_tools(name)[0])),
                        "bfcl_tools_refused": usable_tools(name)[1],
                        "mode": mode,
                        **{k: common.median([r[k] for r in reps]) for k in reps[0]},
                        "first_mask_ms_p_max": max(r["first_mask_ms"] for r in reps),
                    }
                    rows.append(row)
                    common.log(
                        f"grammar {spec.name:5s} {name:10s} {n:3d} tools {mode:8s}: schema "
                        f"{row['schema_ms']:6.1f} lark {row['lark_ms']:5.1f} compile "
                        f"{row['compile_ms']:6.1f} mask {row['mask_ms']:6.2f} = first mask "
                        f"{row['first_mask_ms']:7.1f} ms (warm {row['warm_first_mask_ms']:6.1f});"
                        f" then {row['mask_per_token_us']:5.0f} us/mask"
                    )
    data = {"repeats": REPEATS, "tokenizers": tokenizers, "rows": rows}
    common.write("grammar", data, _plot(rows))
    return data


def _plot(rows: list[dict[str, Any]]):
    """The largest vocabulary, tool_choice required (the README's table): one line and one
    bar per format, legends outside the data."""
    plt = common.pyplot()
    vocab = max(r["vocab"] for r in rows)
    shown = [r for r in rows if r["vocab"] == vocab and r["mode"] == "required"] or rows
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.2))
    names = sorted({r["format"] for r in shown})
    for i, name in enumerate(names):
        mine = sorted((r for r in shown if r["format"] == name), key=lambda r: r["tools"])
        xs = [r["tools"] for r in mine]
        color = f"C{i % 10}"
        style = "-o" if i < 10 else "-s"
        left.plot(xs, [r["first_mask_ms"] for r in mine], style, color=color, label=name, ms=4)
        left.plot(xs, [r["first_mask_cpu_ms"] for r in mine], ":", color=color)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("tools in the request")
    left.set_ylabel("ms to first mask (median; dotted: CPU time)")
    left.set_title(f"Time to first mask, vocab {vocab:,}, tool_choice required", fontsize=10)
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=6)
    most = max(r["tools"] for r in shown)
    # each format at its most tools (fewer than `most` where it refuses some BFCL schemas)
    big = [max((r for r in shown if r["format"] == n), key=lambda r: r["tools"]) for n in names]
    labels = [r["format"] + ("" if r["tools"] == most else f" ({r['tools']})") for r in big]
    left_edge = [0.0] * len(big)
    for i, step in enumerate(("schema", "lark", "compile", "mask")):
        values = [r[f"{step}_cpu_ms"] for r in big]
        right.barh(labels, values, left=left_edge, color=f"C{i}", label=step)
        left_edge = [b + v for b, v in zip(left_edge, values, strict=True)]
    right.invert_yaxis()
    right.set_xlabel("CPU ms (median)")
    right.set_title(f"Where the time goes with {most} tools", fontsize=10)
    right.tick_params(axis="y", labelsize=8)
    right.grid(True, axis="x", alpha=0.3)
    right.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    run()
