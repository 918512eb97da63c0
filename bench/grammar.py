"""Grammar build time per request, for 1, 10 and 100 BFCL tools, the first time and again.

What the server does for every request with tools, timed step by step, through the server's
own code (plan.check_tool -> check_tool_parameters, the Lark memo, the engine's MatcherCache):
  schema   BFCL dialect -> JSON Schema, check_tool_parameters (every cache cleared first: a
           tool set seen for the first time);
  lark     Format.grammar(ConstraintSpec) for every registered format;
  compile  an llguidance LLMatcher from that Lark with a real tokenizer;
  mask     the first token mask.
`first_mask_ms`, the sum, is what a request waits before its first constrained token (in the
engine the mask overlaps the prefill). Every step is also timed in CPU time of the thread
(`*_cpu_ms`), which waiting for a core on a shared machine does not inflate.
`repeat_ms` is the same request again (same tools, mode and format: an agent's next turn),
REPEATED times after each cold one: the cold request hands its matcher back to the cache after
its first mask (MatcherCache.keep_warm, as the engine does before the first token), so a
repeat gets a copy that has that mask already.
Then the steady state: a walk of up to 64 tokens through the grammar (each step picks a random
allowed token, never the end), timing each mask as the engine's helper thread computes it.
Every row is measured in ROUNDS rounds spread over the run (the machine is shared); its
figures are medians (and p99) over all of its samples. `goals` pools the 152k-vocabulary rows.
Tokenizer setup (llguidance's view of the vocabulary) happens once per server, not per
request, and is reported apart. Both tokenizers of bench.models are used: the demo one
(~1.6k tokens) and the widened one with a real model's vocabulary size (151,936).
The peer: xgrammar (`make bench` installs it without its GPU-only dependencies; it runs on
CPU) compiling the same tools as vLLM hands them to it for `tool_choice: required`
(bench/xgrammar_peer.py).
"""

from __future__ import annotations

import functools
import json
import os
import random
from typing import Any

import llguidance
import llguidance.hf
import numpy as np

from bench import bfcl, common, models, xgrammar_peer
from strictcall.chat.tokenizer import load_tokenizer
from strictcall.formats import ConstraintSpec, ToolSpec, format_names, get_format
from strictcall.formats.constraint import ARGUMENTS
from strictcall.grammar import rule_memo
from strictcall.grammar import schema as schema_mod
from strictcall.grammar.matchers import LarkMemo, MatcherCache

TOOL_COUNTS = (1, 10, 100)
MODES = ("auto", "required")
REPEATS = 3  # cold samples per row and round
REPEATED = 3  # repeated requests after each cold one
ROUNDS = 3
GOALS = {"cold_100_p50_ms": 30.0, "cold_100_p99_ms": 40.0, "repeat_100_ms": 2.0, "cold_1_ms": 2.0}
LARKS = LarkMemo()


def tool_specs(tools: list[dict]) -> tuple[ToolSpec, ...]:
    """What plan._check_tools does with a request's tools."""
    return tuple(
        ToolSpec(
            t["function"]["name"], schema_mod.check_tool_parameters(t["function"]["parameters"])
        )
        for t in tools
    )


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
        bits[[e for e in eos if e < bits.shape[0]]] = 0
        allowed = np.flatnonzero(bits)
        if not allowed.size or not matcher.consume_token(int(allowed[rng.randrange(allowed.size)])):
            break
    return times


def once(
    name: str,
    n: int,
    mode: str,
    cache: MatcherCache,
    special: dict[str, int],
    cold: bool = True,
    walk: bool = False,
) -> dict[str, float]:
    fmt = get_format(name)
    if cold:  # a tool set seen for the first time: none of the caches help
        schema_mod.clear_caches()
        ARGUMENTS.clear()
        rule_memo.clear_memos()
        LARKS.clear()
        cache.clear()
    tools = usable_tools(name)[0][:n]  # the benchmark's own set-up (cached), not the request's
    with common.Timer() as t_schema:
        specs = tool_specs(tools)
    with common.Timer() as t_lark:
        spec = ConstraintSpec(tools=specs, mode=mode, parallel=True, special_tokens=special)
        grammar = LARKS.lark(fmt, spec, lambda: fmt.grammar(spec))
    assert grammar is not None
    with common.Timer() as t_compile:
        matcher = cache.matcher(grammar)
    with common.Timer() as t_mask:
        mask = matcher.compute_bitmask()
        cache.keep_warm(grammar, matcher)  # as the engine does before the first token
    assert any(mask), "the first mask allows nothing"
    steps = (t_schema, t_lark, t_compile, t_mask)
    wall, cpu = sum(t.s for t in steps) * 1e3, sum(t.cpu for t in steps) * 1e3
    if not cold:
        return {"repeat_ms": wall, "repeat_cpu_ms": cpu}
    out = {}
    if walk:  # the steady state, once per row: it does not depend on the caches
        times = mask_walk(matcher, set(cache.lltok.eos_tokens), seed=n)
        out["mask_per_token_us"] = common.median(times) * 1e6
        out["mask_per_token_p99_us"] = common.percentile(times, 99) * 1e6
    return {
        **out,
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


def _row(spec, vocab: int, name: str, n: int, mode: str, samples: list[dict]) -> dict[str, Any]:
    cold = [s for s in samples if "first_mask_ms" in s]
    again = [s for s in samples if "repeat_ms" in s]
    walked = next(s for s in cold if "mask_per_token_us" in s)
    return {
        "mask_per_token_us": walked["mask_per_token_us"],
        "mask_per_token_p99_us": walked["mask_per_token_p99_us"],
        "tokenizer": spec.name,
        "vocab": vocab,
        "format": name,
        "tools": min(n, len(usable_tools(name)[0])),
        "requested_tools": n,
        "bfcl_tools_refused": usable_tools(name)[1],
        "mode": mode,
        "samples": len(cold),
        **{k: common.median([r[k] for r in cold]) for k in cold[-1]},
        "first_mask_ms_p99": common.percentile([r["first_mask_ms"] for r in cold], 99),
        "first_mask_cpu_ms_p99": common.percentile([r["first_mask_cpu_ms"] for r in cold], 99),
        "repeat_ms": common.median([r["repeat_ms"] for r in again]),
        "repeat_cpu_ms": common.median([r["repeat_cpu_ms"] for r in again]),
        "repeat_ms_p99": common.percentile([r["repeat_ms"] for r in again], 99),
        "_cold": [r["first_mask_ms"] for r in cold],
        "_cold_cpu": [r["first_mask_cpu_ms"] for r in cold],
        "_repeat": [r["repeat_ms"] for r in again],
        "_repeat_cpu": [r["repeat_cpu_ms"] for r in again],
    }


def schema_ab(rounds: int = 12) -> dict[str, float]:
    """The schema step for 100 BFCL tools seen for the first time, with the plain-schema fast
    path and without it (every schema through the metaschema and compile checks, as before
    issue 14), interleaved: CPU ms, medians."""
    params = [t["function"]["parameters"] for t in bfcl.tools()[:100]]
    fast, full = [], []
    plain = schema_mod.is_plain
    for _ in range(rounds):
        for out, check in ((fast, plain), (full, lambda _schema: False)):
            schema_mod.clear_caches()
            schema_mod.is_plain = check
            try:
                with common.Timer() as t:
                    for p in params:
                        schema_mod.check_tool_parameters(p)
            finally:
                schema_mod.is_plain = plain
            out.append(t.cpu * 1e3)
    schema_mod.clear_caches()
    return {
        "tools": len(params),
        "plain_path_cpu_ms": common.median(fast),
        "full_checks_cpu_ms": common.median(full),
    }


def floors(lltok: llguidance.LLTokenizer, rounds: int = 30) -> dict[str, float]:
    """What llguidance costs before any tool, CPU ms to the first mask (medians): a one-literal
    Lark grammar (its Lark front end's fixed cost per matcher), the same as a JSON Schema (no
    Lark), and free text that refuses markers (hermes' TEXT in `auto`: its lexeme's compile and
    a mask that walks the whole vocabulary)."""
    spec = ConstraintSpec(tools=tool_specs(usable_tools("hermes")[0][:1]), mode="auto")
    text = next(line for line in get_format("hermes").grammar(spec).splitlines() if "TEXT:" in line)
    grammars = {
        "lark_one_literal": llguidance.LLMatcher.grammar_from_lark('start: "a"'),
        "json_schema_integer": llguidance.LLMatcher.grammar_from_json_schema('{"type": "integer"}'),
        "lark_free_text": llguidance.LLMatcher.grammar_from_lark(f"start: TEXT\n{text}"),
    }
    out: dict[str, list[float]] = {name: [] for name in grammars}
    for _ in range(rounds):
        for name, grammar in grammars.items():
            with common.Timer() as t:
                llguidance.LLMatcher(lltok, grammar, log_level=0).compute_bitmask()
            out[name].append(t.cpu * 1e3)
    return {f"{name}_cpu_ms": common.median(v) for name, v in out.items()}


def goals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's goals on the 152k-vocabulary rows, every format and mode pooled."""
    big = [r for r in rows if r["vocab"] > 100_000]

    def pooled(n: int, key: str) -> list[float]:
        return [v for r in big if r["requested_tools"] == n for v in r[key]]

    out: dict[str, Any] = {"targets": GOALS}
    for label, n, key in (
        ("cold_100", 100, "_cold"),
        ("repeat_100", 100, "_repeat"),
        ("cold_1", 1, "_cold"),
        ("repeat_1", 1, "_repeat"),
    ):
        for clock, suffix in (("wall", ""), ("cpu", "_cpu")):
            values = pooled(n, key + suffix)
            if values:
                out[f"{label}_{clock}_p50_ms"] = common.median(values)
                out[f"{label}_{clock}_p99_ms"] = common.percentile(values, 99)
    return out


def run() -> dict[str, Any]:
    tokenizers, loaded = [], []
    formats = _grammar_formats()
    load_before = os.getloadavg()
    for spec in (models.DEMO, models.LARGE):
        tok = load_tokenizer(str(models.build(spec)))
        with common.Timer() as t_tok:
            lltok = llguidance.hf.from_tokenizer(tok.hf, eos_token=tok.eos_ids)
        tokenizers.append(
            {"model": spec.name, "vocab": lltok.vocab_size, "setup_ms": t_tok.s * 1e3}
        )
        loaded.append((spec, tok, MatcherCache(lltok)))
        common.log(f"grammar: {spec.name} tokenizer, {lltok.vocab_size} tokens")
    samples: dict[tuple, list[dict]] = {}
    for _spec, tok, cache in loaded:  # warm up
        once(formats[0], 10, "auto", cache, tok.special_tokens)
    for round_ in range(ROUNDS):
        for spec, tok, cache in loaded:
            for name in formats:
                for n in TOOL_COUNTS:
                    for mode in MODES:
                        mine = samples.setdefault((spec.name, name, n, mode), [])
                        for _ in range(REPEATS):
                            walk = not mine
                            mine.append(once(name, n, mode, cache, tok.special_tokens, walk=walk))
                            for _ in range(REPEATED):
                                mine.append(
                                    once(name, n, mode, cache, tok.special_tokens, cold=False)
                                )
        common.log(f"grammar: round {round_ + 1}/{ROUNDS} done")
    rows = []
    for spec, _tok, cache in loaded:
        for name in formats:
            for n in TOOL_COUNTS:
                for mode in MODES:
                    row = _row(
                        spec,
                        cache.lltok.vocab_size,
                        name,
                        n,
                        mode,
                        samples[(spec.name, name, n, mode)],
                    )
                    rows.append(row)
                    common.log(
                        f"grammar {spec.name:5s} {name:15s} {n:3d} tools {mode:8s}: schema "
                        f"{row['schema_ms']:5.1f} lark {row['lark_ms']:5.1f} compile "
                        f"{row['compile_ms']:5.1f} mask {row['mask_ms']:5.2f} = first mask "
                        f"{row['first_mask_ms']:6.1f} ms (p99 {row['first_mask_ms_p99']:6.1f}; "
                        f"again {row['repeat_ms']:5.2f}); then "
                        f"{row['mask_per_token_us']:4.0f} us/mask"
                    )
    summary = goals(rows)
    ab = schema_ab()
    common.log(f"grammar schema step, 100 tools: {json.dumps(ab)}")
    floor = floors(loaded[-1][2].lltok)
    common.log(f"grammar llguidance floors, 152k vocabulary: {json.dumps(floor)}")
    peer = xgrammar_peer.run(loaded[-1][1].hf, TOOL_COUNTS, ROUNDS * REPEATS)
    for row in rows:
        for key in [k for k in row if k.startswith("_")]:
            del row[key]
    data = {
        "repeats": REPEATS,
        "repeated": REPEATED,
        "rounds": ROUNDS,
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "tokenizers": tokenizers,
        "goals": summary,
        "schema_ab": ab,
        "llguidance_floors": floor,
        "xgrammar": peer,
        "rows": rows,
    }
    common.log(
        "grammar goals: "
        + json.dumps({k: round(v, 2) for k, v in summary.items() if k != "targets"})
    )
    common.write("grammar", data, _plot(rows, peer))
    return data


def _plot(rows: list[dict[str, Any]], peer: dict[str, Any] | None):
    plt = common.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    big = [r for r in rows if r["vocab"] > 100_000 and r["mode"] == "required"]
    for i, name in enumerate(sorted({r["format"] for r in big})):
        mine = [r for r in big if r["format"] == name]
        xs = [r["requested_tools"] for r in mine]
        left.plot(
            xs, [r["first_mask_ms"] for r in mine], "-o", ms=3, color=f"C{i % 10}", label=name
        )
        left.plot(xs, [r["repeat_ms"] for r in mine], "--", color=f"C{i % 10}")
    if peer:
        xs = [r["tools"] for r in peer["rows"]]
        left.plot(
            xs,
            [r["first_mask_ms"] for r in peer["rows"]],
            "-s",
            color="k",
            lw=2,
            label=f"xgrammar {peer['version']} (vLLM's schema)",
        )
        left.plot(xs, [r["repeat_ms"] for r in peer["rows"]], "--", color="k", lw=2)
    for y, text in (
        (GOALS["cold_100_p50_ms"], "goal, 100 tools cold"),
        (GOALS["repeat_100_ms"], "goal, again / 1 tool cold"),
    ):
        left.axhline(y, color="grey", lw=0.8, ls=":")
        left.text(1.05, y * 1.08, text, fontsize=7, color="grey")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("tools in the request")
    left.set_ylabel("ms to first mask, median (solid: first time, dashed: again)")
    left.set_title("Time to first mask, 152k vocabulary, tool_choice=required", fontsize=10)
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7, ncol=2)
    most = [r for r in big if r["requested_tools"] == max(TOOL_COUNTS)]
    labels = [r["format"] for r in most]
    bottom = [0.0] * len(most)
    for i, step in enumerate(("schema", "lark", "compile", "mask")):
        values = [r[f"{step}_cpu_ms"] for r in most]
        right.bar(labels, values, bottom=bottom, color=f"C{i}", label=step)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    right.axhline(GOALS["cold_100_p50_ms"], color="grey", lw=0.8, ls=":")
    right.set_ylabel("CPU ms (median)")
    right.set_title(f"Where the time goes with {max(TOOL_COUNTS)} tools, first time", fontsize=10)
    right.tick_params(axis="x", labelsize=7, rotation=60)
    right.legend(fontsize=8)
    return fig


if __name__ == "__main__":
    run()
