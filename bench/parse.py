"""Streaming parse cost per delta, for 1 KB, 8 KB and 64 KB of arguments.

Every registered format that can render calls writes one call whose arguments hold that much
JSON; the text is fed to the format's stream parser in 4-character deltas (about one token)
and every `feed` is timed. The cost per delta must stay flat: it may not depend on how much
text came before (DESIGN idea 3).

For contrast, the same deltas go through a re-parse baseline: what vLLM's older per-model
parsers did on every delta (split the accumulated text on the call marker, partial-JSON parse
the whole call, json.dumps the arguments and diff them against what was sent). Its cost per
delta grows with the text before it, so its total is quadratic. A re-parse costs the same
whatever came before at a given position, so it is timed at up to 200 evenly spaced positions
and its total estimated from their mean; ours is timed at every delta. Each delta's cost is
the fastest of the repeats (5 for ours, 3 for the baseline), as timeit does: on a shared
machine noise only ever adds time, and a long re-parse is more often preempted than a short
feed, which would otherwise flatter the ratio.
"""

from __future__ import annotations

import gc
import json
import random
import re
import time
from typing import Any

from bench import common
from strictcall.formats import Format, format_names, get_format
from strictcall.formats.base import compact_json
from strictcall.formats.types import assemble

SIZES = (1024, 8 * 1024, 64 * 1024)
DELTA_CHARS = 4
REPEATS = 5
BASELINE_REPEATS = 3
BASELINE_SAMPLES = 200
TOOL = "bench_tool"
# The tool with its schema, as a client sends it: formats that type values by the schema
# (Qwen3-Coder's XML parameters) need it to read `items` back as a list.
TOOL_OBJECT = {
    "type": "function",
    "function": {
        "name": TOOL,
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "items": {"type": "array"}},
        },
    },
}
_WORDS = ("alpha", "beta", "gamma", "delta", "city", "weather", "unit", "price", "order", "note")


def arguments(size: int, seed: int = 0) -> dict[str, Any]:
    """Arguments of about `size` bytes of compact JSON: strings (some escaped), numbers,
    booleans, nulls and nesting, like a real payload."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    args: dict[str, Any] = {"query": "bench", "items": items}
    while len(compact_json(args)) < size:
        n = len(items)
        items.append(
            {
                "id": n,
                "title": " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 8))),
                "score": round(rng.uniform(-100, 100), 3),
                "tags": [rng.choice(_WORDS) for _ in range(rng.randint(0, 3))],
                "meta": {"ok": rng.random() < 0.5, "note": None if n % 3 else 'say "hi"\n'},
            }
        )
    return args


def renderable() -> list[str]:
    names = []
    for name in format_names():
        try:
            get_format(name).render_calls([(TOOL, {"a": 1})])
        except NotImplementedError:
            continue
        names.append(name)
    return names


def deltas(text: str) -> list[str]:
    return [text[i : i + DELTA_CHARS] for i in range(0, len(text), DELTA_CHARS)]


def time_stream(fmt: Format, pieces: list[str], expected: dict) -> list[int]:
    """Nanoseconds per `feed`, after checking the parser reads the call back."""
    parser = fmt.stream([TOOL_OBJECT])
    out = []
    costs = []
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for piece in pieces:
            t0 = clock()
            got = parser.feed(piece)
            costs.append(clock() - t0)
            out += got
    finally:
        gc.enable()
    out += parser.close()
    result = assemble(out)
    calls = [(c.name, json.loads(c.arguments)) for c in result.tool_calls]
    if calls != [(TOOL, expected)]:
        raise AssertionError(f"{fmt.name}: the parser did not read the call back")
    return costs


# ---- the re-parse baseline --------------------------------------------------------------
_DECODER = json.JSONDecoder()
_SCAN = re.compile(r'"((?:[^"\\]|\\.)*)(")?|[{}\[\],]')


def partial_json(text: str) -> tuple[Any, int]:
    """Parse a JSON prefix by closing what is open, as partial_json_parser does: O(len).

    Returns the value and how many closing characters were invented (they end its text)."""
    stack: list[str] = []
    cut = 0  # last position where a member or element can be dropped
    open_string = False
    for m in _SCAN.finditer(text):
        token = m.group()
        if token[0] == '"':
            open_string = m.group(2) is None
        elif token in "{[":
            stack.append("}" if token == "{" else "]")
            cut = m.end()
        elif token in "}]":
            if stack:
                stack.pop()
        else:
            cut = m.start()
    closers = "".join(reversed(stack))
    head = text.rstrip("\\") + '"' if open_string else text
    if not open_string and text[-1:] in "-+.0123456789eE":
        head = text[:cut]  # a number may still grow: "-0" is not yet -0.97
    for candidate, invented in (
        (head + closers, len(closers) + open_string),
        (text[:cut] + closers, len(closers)),
    ):
        try:  # raw_decode: text after a complete value (the call's end marker) is ignored
            return _DECODER.raw_decode(candidate)[0], invented
        except ValueError:
            continue
    return None, 0


class ReparseBaseline:
    """One delta the way per-model parsers did it: everything from the accumulated text.

    Each delta: find the last call in the accumulated text, partial-JSON parse all of it,
    re-serialise the arguments and send what is new, minus the closers the partial parse
    invented. Linear work per delta, so quadratic in total.
    """

    def __init__(self, trigger: str):
        self.trigger = trigger  # "" for a family without a call marker: the whole text
        self.sent = ""
        self.content = 0  # characters passed on as content

    def step(self, accumulated: str) -> str:
        """The arguments text that is new after this delta (content before the first call)."""
        portion = accumulated
        if self.trigger:
            if accumulated.count(self.trigger) == 0:
                new, self.content = accumulated[self.content :], len(accumulated)
                return new
            portion = accumulated.split(self.trigger)[-1]
        start = portion.find("{")
        obj, invented = partial_json(portion[start:]) if start >= 0 else (None, 0)
        if not isinstance(obj, dict) or not ({"arguments", "parameters"} & obj.keys()):
            return ""
        args = obj.get("arguments", obj.get("parameters"))
        dumped = json.dumps(args, ensure_ascii=False)
        # the call object's own closer is the last invented one; the rest end `dumped`
        stable = dumped[: len(dumped) - max(0, invented - 1)]
        stable = _common_prefix(self.sent, stable) if not stable.startswith(self.sent) else stable
        delta, self.sent = stable[len(self.sent) :], max(stable, self.sent, key=len)
        return delta


def _common_prefix(a: str, b: str) -> str:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return a[:i]


def baseline_reads(fmt: Format, pieces: list[str], expected: dict) -> bool:
    """Whether the whole baseline stream gives back the arguments (it does for JSON bodies
    keyed "arguments" or "parameters"; for other bodies it still costs what it costs)."""
    trigger = fmt.syntax.trigger if fmt.syntax is not None else ""
    baseline = ReparseBaseline(trigger)
    accumulated, out = "", []
    for piece in pieces:
        accumulated += piece
        delta = baseline.step(accumulated)
        if baseline.sent:  # arguments started: what came before was content
            out.append(delta)
    return "".join(out) == json.dumps(expected, ensure_ascii=False)


def time_baseline(fmt: Format, pieces: list[str]) -> tuple[list[int], list[int]]:
    """(positions, ns): the re-parse cost at evenly spaced delta indexes."""
    trigger = fmt.syntax.trigger if fmt.syntax is not None else ""
    ends = []
    total = 0
    for piece in pieces:
        total += len(piece)
        ends.append(total)
    text = "".join(pieces)
    count = min(BASELINE_SAMPLES, len(pieces))
    positions = sorted({round(i * (len(pieces) - 1) / max(1, count - 1)) for i in range(count)})
    costs = []
    clock = time.perf_counter_ns
    for k in positions:
        baseline = ReparseBaseline(trigger)
        if k > 0:
            baseline.step(text[: ends[k - 1]])  # what was sent before this delta
        accumulated = text[: ends[k]]
        t0 = clock()
        baseline.step(accumulated)
        costs.append(clock() - t0)
    return positions, costs


# ---- the benchmark ----------------------------------------------------------------------
def _quarters(costs: list[int]) -> float:
    """Median cost of the last quarter of deltas over that of the second quarter (the first
    holds the markers and the name): 1.0 when cost does not grow with position."""
    n = len(costs)
    early = costs[n // 4 : n // 2]
    late = costs[3 * n // 4 :]
    return common.median(late) / common.median(early) if early and late else float("nan")


def _binned(positions: list[int], costs: list[float], bins: int = 60) -> tuple[list, list]:
    if len(positions) <= bins:
        return positions, costs
    width = len(positions) / bins
    xs, ys = [], []
    for b in range(bins):
        lo, hi = int(b * width), int((b + 1) * width)
        xs.append(positions[(lo + hi) // 2])
        ys.append(common.median(costs[lo:hi]))
    return xs, ys


def measure(name: str, size: int) -> dict[str, Any]:
    fmt = get_format(name)
    args = arguments(size)
    text = fmt.render_calls([(TOOL, args)])
    pieces = deltas(text)
    runs = [time_stream(fmt, pieces, args) for _ in range(REPEATS)]
    per_delta = [min(c) for c in zip(*runs, strict=True)]
    base_runs = [time_baseline(fmt, pieces) for _ in range(BASELINE_REPEATS)]
    base_pos = base_runs[0][0]
    base_costs = [min(c) for c in zip(*(r[1] for r in base_runs), strict=True)]
    base_total = common.fmean(base_costs) * len(pieces)
    ours_total = sum(per_delta)
    return {
        "format": name,
        "size": size,
        "argument_bytes": len(compact_json(args)),
        "text_bytes": len(text.encode()),
        "deltas": len(pieces),
        "ours": {
            "per_delta_ns": {
                "median": common.median(per_delta),
                "p99": common.percentile(per_delta, 99),
                "mean": common.fmean(per_delta),
            },
            "total_ms": ours_total / 1e6,
            "total_ms_fastest_repeat": min(sum(r) for r in runs) / 1e6,
            "ns_per_byte": ours_total / len(text),
            "late_over_early": _quarters(per_delta),
            "curve": _binned(list(range(len(pieces))), per_delta),
        },
        "baseline": {
            "per_delta_ns": {
                "median": common.median(base_costs),
                "p99": common.percentile(base_costs, 99),
                "last": base_costs[-1],
            },
            "total_ms_estimated": base_total / 1e6,
            "ns_per_byte": base_total / len(text),
            "samples": len(base_costs),
            # checked where a full re-parse stream is affordable (it is quadratic)
            "reads_arguments": baseline_reads(fmt, pieces, args) if size <= 8192 else None,
            "curve": _binned(base_pos, base_costs),
        },
        "baseline_over_ours_total": base_total / ours_total,
    }


def run() -> dict[str, Any]:
    rows = []
    for name in renderable():
        for size in SIZES:
            row = measure(name, size)
            rows.append(row)
            ours = row["ours"]
            common.log(
                f"parse {name:12s} {size // 1024:3d} KB: {ours['per_delta_ns']['median']:7.0f}"
                f" ns/delta (p99 {ours['per_delta_ns']['p99']:7.0f}), "
                f"{ours['ns_per_byte']:6.0f} ns/B, late/early "
                f"{ours['late_over_early']:.2f}; re-parse "
                f"{row['baseline']['ns_per_byte']:8.0f} ns/B "
                f"(x{row['baseline_over_ours_total']:.0f})"
            )
    for name in {r["format"] for r in rows}:
        mine = {r["size"]: r for r in rows if r["format"] == name}
        flat = (
            mine[SIZES[-1]]["ours"]["per_delta_ns"]["median"]
            / (mine[SIZES[0]]["ours"]["per_delta_ns"]["median"])
        )
        for r in mine.values():
            r["ours"]["largest_over_smallest_per_delta"] = flat
    data = {"delta_chars": DELTA_CHARS, "repeats": REPEATS, "rows": rows}
    common.write("parse", data, _plot(rows))
    return data


def _plot(rows: list[dict[str, Any]]):
    names = sorted({r["format"] for r in rows})
    fig, axes = common.panels(len(names), 4.6, 3.4, columns=4)
    for ax, name in zip(axes, names, strict=True):
        for i, r in enumerate(x for x in rows if x["format"] == name):
            color = f"C{i}"
            label = f"{r['size'] // 1024} KB"
            for key, style, what in (("ours", "-", "strictcall"), ("baseline", "--", "re-parse")):
                points = [(x, y) for x, y in zip(*r[key]["curve"], strict=True) if x > 0]
                kb = [x * DELTA_CHARS / 1024 for x, _ in points]
                us = [y / 1000 for _, y in points]
                ax.plot(kb, us, style, color=color, label=f"{what} {label}")
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlabel("text before the delta (KB)", fontsize=8)
        ax.set_ylabel(f"µs per {DELTA_CHARS}-char delta", fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="both", alpha=0.3)
    # every panel draws the same sizes and sides: one legend for all, under the grid
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle("Streaming parse cost per delta (solid: strictcall, dashed: re-parse)")
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return fig


if __name__ == "__main__":
    run()
