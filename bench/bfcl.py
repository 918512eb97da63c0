"""BFCL tool schemas as OpenAI tools: the dialect conversion and the small subset we ship.

BFCL writes schemas in its own dialect (`dict`, `float`, `tuple`, `any`, Java type names). The
leaderboard maps them to JSON Schema before sending them as OpenAI tools; `to_json_schema` does
the same (`strictcall.eval.dialect`, shared with `strictcall eval bfcl`), so the benchmarks
see what a client replaying BFCL would send.

`python -m bench.bfcl /work/shared/bfcl` regenerates bench/data/bfcl_tools.json from the full
data set; the benchmarks only read that file, so they run without /work/shared.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from strictcall.eval.dialect import to_openai_tool
from strictcall.formats.constraint import TOOL_NAME
from strictcall.grammar.schema import SchemaError, check_schema

DATA = Path(__file__).resolve().parent / "data" / "bfcl_tools.json"

# Where the shipped subset comes from: round-robin over these, first come first taken.
_SOURCES = ("simple_python", "multiple", "parallel_multiple", "live_simple", "live_multiple")
_TOOLS = 100
_PROMPTS = 8


def load() -> dict:
    """The shipped subset: {"tools": [BFCL function...], "prompts": [{"question", "function"}]}."""
    return json.loads(DATA.read_text())


def tools(n: int | None = None) -> list[dict]:
    """The first `n` shipped tools as OpenAI tools (all of them when n is None)."""
    functions = load()["tools"]
    return [to_openai_tool(f) for f in functions[:n]]


def prompts() -> list[dict]:
    """Shipped questions with their own tools: {"id", "messages", "tools"}."""
    return [
        {
            "id": p["id"],
            "messages": p["question"][0],
            "tools": [to_openai_tool(f) for f in p["function"]],
        }
        for p in load()["prompts"]
    ]


def _usable(function: dict) -> bool:
    if not TOOL_NAME.match(function["name"]):
        return False
    try:
        check_schema(to_openai_tool(function)["function"]["parameters"])
    except SchemaError:
        return False
    return True


def extract(source: Path) -> dict:
    records = {
        name: [json.loads(line) for line in (source / f"BFCL_v4_{name}.json").open()]
        for name in _SOURCES
    }
    picked: dict[str, dict] = {}
    for i in range(max(len(r) for r in records.values())):
        for name in _SOURCES:
            if i >= len(records[name]) or len(picked) >= _TOOLS:
                continue
            for function in records[name][i]["function"]:
                if function["name"] not in picked and _usable(function):
                    picked[function["name"]] = function
                    break
    questions = [
        r
        for r in records["live_multiple"]
        if 2 <= len(r["function"]) <= 4 and all(_usable(f) for f in r["function"])
    ]
    step = max(1, len(questions) // _PROMPTS)
    prompts = [
        {"id": r["id"], "question": r["question"], "function": r["function"]}
        for r in questions[::step][:_PROMPTS]
    ]
    return {
        "source": "gorilla berkeley-function-call-leaderboard v4 data (Apache-2.0)",
        "note": "BFCL dialect, as published; strictcall.eval.dialect.to_json_schema converts it",
        "tools": list(picked.values()),
        "prompts": prompts,
    }


if __name__ == "__main__":
    subset = extract(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/bfcl"))
    DATA.write_text(json.dumps(subset, indent=1, ensure_ascii=False) + "\n")
    print(f"{DATA}: {len(subset['tools'])} tools, {len(subset['prompts'])} prompts")
