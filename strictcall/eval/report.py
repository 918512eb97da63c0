"""A run's results as a table, a JSON file and a bar plot."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path


def _percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def table(results: dict) -> str:
    """Per category and overall: accuracy, call validity, errors, cut-off replies."""
    head = f"{'category':24s} {'n':>5s} {'right':>6s} {'accuracy':>9s} {'valid calls':>17s}"
    head += f" {'errors':>7s} {'cut off':>8s}"
    rows = [head, "-" * len(head)]

    def row(name: str, s: dict) -> str:
        valid = f"{s['valid_calls']}/{s['calls']} {_percent(s['validity']):>6s}"
        return (
            f"{name:24s} {s['n']:5d} {s['correct']:6d} {_percent(s['accuracy']):>9s} "
            f"{valid:>17s} {s['errors']:7d} {s['truncated']:8d}"
        )

    rows += [row(name, s) for name, s in results["categories"].items()]
    rows.append("-" * len(head))
    overall = results["overall"]
    rows.append(row("overall", overall))
    rows.append(
        f"{'mean of categories':24s} {'':12s} {_percent(overall['mean_category_accuracy']):>9s}"
    )
    for kind, count in overall["errors_by_kind"].items():
        first = next(r["error"]["message"] for r in results["items"] if _kind(r) == kind)
        rows.append(f"errors {kind}: {count}, the first: {first[:160]}")
    return "\n".join(rows)


def _kind(item: dict) -> str | None:
    return item["error"]["kind"] if item["error"] else None


def stem(results: dict) -> str:
    """A file name for a run: bfcl-MODEL-TOOL_CHOICE, in safe characters."""
    settings = results["settings"]
    raw = f"bfcl-{Path(settings['model']).name}-{settings['tool_choice']}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)


def write_json(results: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def plot(runs: Sequence[tuple[str, dict]], path: Path) -> Path:
    """Accuracy and call validity per category, one bar per run: (label, results) pairs."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError(
            "the PNG needs matplotlib: pip install 'strictcall[eval]' (the JSON is written)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories = list(dict.fromkeys(c for _, r in runs for c in r["categories"]))
    groups = [*categories, "overall"]
    width = 0.8 / max(len(runs), 1)
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 0.9 * len(groups) + 2), 7), sharex=True)
    for k, (label, results) in enumerate(runs):
        stats = [results["categories"].get(c) for c in categories] + [results["overall"]]
        xs = [g + (k - (len(runs) - 1) / 2) * width for g in range(len(groups))]
        accuracy = [100 * s["accuracy"] if s else 0 for s in stats]
        validity = [100 * (s["validity"] or 0) if s else 0 for s in stats]
        bars = axes[0].bar(xs, accuracy, width, label=label)
        axes[0].bar_label(bars, fmt="%.0f", fontsize=7)
        axes[1].bar(xs, validity, width, label=label)
    axes[0].set_ylabel("accuracy (%)")
    axes[0].set_ylim(0, 110)
    axes[0].legend(fontsize=8)
    axes[1].set_ylabel("schema-valid calls (%)")
    axes[1].set_ylim(0, 110)
    axes[1].set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=8)
    first = runs[0][1]
    fig.suptitle(f"BFCL v4 (AST) · {first['settings']['model']} · {first['data']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(runs: Sequence[tuple[str, dict]]) -> str:
    """One markdown table comparing runs: per category, accuracy and (schema-valid calls)."""
    categories = list(dict.fromkeys(c for _, r in runs for c in r["categories"]))
    lines = [
        "| category | " + " | ".join(label for label, _ in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]

    def cell(s: dict | None) -> str:
        if not s:
            return "-"
        errors = f", {s['errors']} err" if s["errors"] else ""
        return f"{_percent(s['accuracy'])} ({_percent(s['validity'])} valid{errors})"

    for c in [*categories, "overall"]:
        stats = [r["overall"] if c == "overall" else r["categories"].get(c) for _, r in runs]
        n = next((s["n"] for s in stats if s), 0)
        lines.append(f"| {c} (n={n}) | " + " | ".join(cell(s) for s in stats) + " |")
    return "\n".join(lines)
