"""BFCL v4 records and their accepted answers, from a directory laid out as BFCL ships them.

`BFCL_v4_<category>.json` (JSON Lines: id, question, function) and, where a category has them,
`possible_answer/BFCL_v4_<category>.json` (id, ground_truth). The package ships a fixed sample
in that same layout (`strictcall/eval/data/`), so the full data set and the sample are read by
the same code: `python -m strictcall.eval.data BFCL_DIR` rebuilds the sample from a full copy.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parent / "data"
SAMPLE_PER_CATEGORY = 20

# The categories `strictcall eval bfcl` runs by default (BFCL v4's single-turn AST ones).
CATEGORIES = (
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_irrelevance",
    "live_relevance",
)
# Also in v4 and scored the same way, but not run unless asked for.
EXTRA_CATEGORIES = ("live_parallel_multiple",)
ALL_CATEGORIES = CATEGORIES + EXTRA_CATEGORIES
# Categories without answers: right means no call (irrelevance) or some call (relevance).
NO_CALL = frozenset({"irrelevance", "live_irrelevance"})
SOME_CALL = frozenset({"live_relevance"})


@dataclass(frozen=True)
class Item:
    """One BFCL question with what it is scored against."""

    id: str
    category: str
    messages: list[dict]  # the first turn: BFCL's `question` is a list of turns
    functions: list[dict]  # BFCL's dialect, as published
    ground_truth: list[dict] | None  # [{function name: {param: [accepted values]}}]


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _question_file(root: Path, category: str) -> Path:
    return root / f"BFCL_v4_{category}.json"


def _answer_file(root: Path, category: str) -> Path:
    return root / "possible_answer" / f"BFCL_v4_{category}.json"


def load_category(category: str, root: Path | None = None, limit: int | None = None) -> list[Item]:
    """The first `limit` items of `category` under `root` (the shipped sample by default)."""
    if category not in ALL_CATEGORIES:
        raise ValueError(
            f"unknown BFCL category {category!r}; choose from {', '.join(ALL_CATEGORIES)}"
        )
    root = root or SAMPLE
    path = _question_file(root, category)
    if not path.is_file():
        raise FileNotFoundError(f"no {path.name} in {root}")
    records = _read_jsonl(path)[:limit]
    answers: dict[str, Any] = {}
    if category not in NO_CALL | SOME_CALL:
        answers = {a["id"]: a["ground_truth"] for a in _read_jsonl(_answer_file(root, category))}
    items = []
    for r in records:
        if answers and r["id"] not in answers:
            raise ValueError(f"{r['id']}: no possible answer in {_answer_file(root, category)}")
        items.append(
            Item(
                id=r["id"],
                category=category,
                messages=r["question"][0],
                functions=r["function"],
                ground_truth=answers.get(r["id"]),
            )
        )
    return items


def _spread(records: list[dict], n: int) -> list[dict]:
    """`n` records spread evenly over the category (its first records come from few sources)."""
    if len(records) <= n:
        return records
    return [records[i * len(records) // n] for i in range(n)]


def write_sample(source: Path, dest: Path = SAMPLE, n: int = SAMPLE_PER_CATEGORY) -> int:
    """Copy `n` records per category (and their answers) from a full BFCL copy; bytes written."""
    written = 0
    (dest / "possible_answer").mkdir(parents=True, exist_ok=True)
    for category in ALL_CATEGORIES:
        records = _spread(_read_jsonl(_question_file(source, category)), n)
        files = [(_question_file(dest, category), records)]
        if category not in NO_CALL | SOME_CALL:
            ids = {r["id"] for r in records}
            answers = [a for a in _read_jsonl(_answer_file(source, category)) if a["id"] in ids]
            files.append((_answer_file(dest, category), answers))
        for path, rows in files:
            text = "".join(
                json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
            )
            path.write_text(text, encoding="utf-8")
            written += len(text.encode())
    return written


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/bfcl")
    print(f"{SAMPLE}: {write_sample(src)} bytes, {SAMPLE_PER_CATEGORY} records per category")
