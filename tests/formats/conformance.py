"""Loading ../shared/conformance cases (copied into tests/data) and checking one result."""

from __future__ import annotations

import json
import random
from pathlib import Path

from strictcall.formats import ParseResult, ToolCall

CASES_FILE = Path(__file__).resolve().parent.parent / "data" / "conformance.jsonl"

# Cases where strictcall deliberately differs from what vLLM's test asserts; each reason is
# also written in docs/conformance.md.
DEVIATIONS: dict[str, str] = {}

# deepseek_v3, deepseek_v31, pythonic, llama4_pythonic, qwen3_coder, qwen3_xml
_MALFORMED_QWEN3 = (
    "a malformed <function= block is returned as content, not read as a call with a made-up"
    " name; the well-formed call after it is read"
)
_KEPT_NEWLINE = (
    "whitespace before a call stays in the content, as vLLM's own streaming cases of the same"
    " parser expect (qwen3_coder-0102, qwen3_xml-0008); output never depends on streaming"
)
DEVIATIONS.update(
    {
        "deepseek_v31-0001": (
            "text after the tool section is content, not dropped (as deepseek_v3-0019 expects)"
        ),
        "qwen3_coder-0017": _MALFORMED_QWEN3,
        "qwen3_coder-0018": _MALFORMED_QWEN3,
        "qwen3_coder-0077": _MALFORMED_QWEN3,
        "qwen3_coder-0053": _MALFORMED_QWEN3,
        "qwen3_coder-0056": _MALFORMED_QWEN3,
        "qwen3_coder-0057": _MALFORMED_QWEN3,
        "qwen3_coder-0048": _KEPT_NEWLINE,
        "qwen3_coder-0049": _KEPT_NEWLINE,
    }
)


def load_cases() -> list[dict]:
    return [json.loads(line) for line in CASES_FILE.read_text().splitlines() if line.strip()]


def chunkings(case: dict, seed: int = 0) -> dict[str, list[str]]:
    """The ways a streaming case is fed: the original pieces, one char, random groups."""
    text = case["model_output"]
    rng = random.Random(seed)
    out = {"char": list(text)}
    if case.get("stream_deltas"):
        out["original"] = case["stream_deltas"]
    pieces, i = [], 0
    while i < len(text):
        n = rng.randint(1, 12)
        pieces.append(text[i : i + n])
        i += n
    out["random"] = pieces
    out["whole"] = [text]
    return out


def _norm_content(value: str | None, streaming: bool) -> str | None:
    if streaming and value == "":
        return None
    return value


def check(case: dict, result: ParseResult, streaming: bool) -> None:
    scope = set(case["assert_scope"])
    calls: list[ToolCall] = result.tool_calls
    expected = case["expected_tool_calls"]
    if "tools_called" in scope:
        assert bool(calls) == case["expected_tools_called"], (calls, case["expected_tools_called"])
    if "count" in scope:
        assert len(calls) == len(expected), ([c.name for c in calls], expected)
    if "count>=1" in scope:
        assert len(calls) >= 1
    if "names" in scope:
        assert [c.name for c in calls] == [e["name"] for e in expected]
    if "arguments" in scope:
        got = [json.loads(c.arguments) for c in calls]
        assert got == [e["arguments"] for e in expected], (got, expected)
    if "arguments_subset" in scope:
        for c, e in zip(calls, expected, strict=False):
            args = json.loads(c.arguments)
            for k, v in e["arguments"].items():
                assert args.get(k) == v, (k, args, e["arguments"])
    if "argument_keys_and_json_types" in scope:
        for c, e in zip(calls, expected, strict=True):
            args = json.loads(c.arguments)
            assert set(args) == set(e["arguments"])
            for k, v in e["arguments"].items():
                assert type(args[k]) is type(v), (k, args[k], v)
    if "content" in scope:
        want = _norm_content(case["expected_content"], streaming)
        assert _norm_content(result.content, streaming) == want, (result.content, want)
    if "reasoning" in scope:
        assert result.reasoning == case.get("expected_reasoning"), result.reasoning
    for c in calls:
        json.loads(c.arguments)  # every returned argument string is JSON
