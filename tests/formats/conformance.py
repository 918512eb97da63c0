"""Loading ../shared/conformance cases (copied into tests/data) and checking one result."""

from __future__ import annotations

import json
import random
from pathlib import Path

from strictcall.formats import Delta, ParseResult, ToolCall

CASES_FILE = Path(__file__).resolve().parent.parent / "data" / "conformance.jsonl"

_MALFORMED_QWEN3 = (
    "a malformed <function= block is returned as content, not read as a call with a made-up"
    " name; the well-formed call after it is read"
)
_KEPT_NEWLINE = (
    "whitespace before a call stays in the content, as vLLM's own streaming cases of the same"
    " parser expect (qwen3_coder-0102, qwen3_xml-0008); output never depends on streaming"
)

# Cases where strictcall deliberately differs from what vLLM's test asserts; each reason is
# also written in docs/conformance.md.
DEVIATIONS: dict[str, str] = {
    "llama3_json-0010": "a JSON object in the middle of prose is text, not a call (Llama 3 calls "
    "open the answer); vLLM reads it and drops the prose around it",
    "mistral-0001": "the output ends inside the arguments: vLLM returns a call whose arguments "
    "are not JSON; strictcall never does, the text is content",
    "mistral-0015": "text after a call is kept as content; vLLM drops it",
    "mistral-0018": "[TOOL_CALLS] followed by an object without a name is not a call; vLLM "
    "returns a call named ''",
    "mistral-0019": "as mistral-0018 for the first call; the second call is read",
    "mistral-0021": "a malformed tool section comes back verbatim, [TOOL_CALLS] included; vLLM "
    "strips the marker here but keeps it in mistral-0041",
    "mistral-0023": "as mistral-0021",
    "mistral-0024": "as mistral-0021",
    "mistral-0030": "[TOOL_CALLS] {..}, {..} is read as two calls; vLLM silently drops the second",
    "mistral-0032": "as mistral-0030",
    "mistral-0074": 'a list item that is not a call (, "junk"]) comes back as content; vLLM '
    "drops it",
    "mistral-0075": "an object without a name is not a call; vLLM returns a call without a name",
    "mistral-0078": "a list without [TOOL_CALLS] is an answer: strictcall keeps marker tokens in "
    "the text it parses, so a call always carries its marker (vLLM may have stripped it)",
    "mistral-0079": "the expected arguments of the second call start with ': ' (a vLLM "
    "streaming bug); strictcall streams the arguments themselves",
    "mistral-0080": "as mistral-0079",
    "deepseek_v31-0001": "text after the tool section is content, not dropped (as "
    "deepseek_v3-0019 expects)",
    "qwen3_coder-0017": _MALFORMED_QWEN3,
    "qwen3_coder-0018": _MALFORMED_QWEN3,
    "qwen3_coder-0053": _MALFORMED_QWEN3,
    "qwen3_coder-0056": _MALFORMED_QWEN3,
    "qwen3_coder-0057": _MALFORMED_QWEN3,
    "qwen3_coder-0077": _MALFORMED_QWEN3,
    "qwen3_coder-0048": _KEPT_NEWLINE,
    "qwen3_coder-0049": _KEPT_NEWLINE,
    # Harmony (openai); see the Harmony section of docs/conformance.md
    "openai-0010": "a call whose arguments are not JSON ('foo') is returned as content, never as "
    "a call with invalid arguments; a call with an empty body gets '{}', not ''",
    "openai-0016": "arguments are returned exactly as the model wrote them, streamed or not; "
    "vLLM re-serialises them (json.dumps(json.loads(x))) only when not streaming",
}


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
    if "names" in scope or "names(header)" in scope:
        assert [c.name for c in calls] == [e["name"] for e in expected]
    if "arguments_exact_string" in scope:
        got = [c.arguments for c in calls]
        assert got == [e["arguments_raw"] for e in expected], (got, expected)
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


def _step_summary(deltas: list[Delta]) -> dict:
    """What one streamed delta yielded, in the shape of `expected_per_delta` entries."""
    calls: dict[int, dict] = {}
    for d in deltas:
        if d.tool_call_index is not None and not d.withdrawn:
            call = calls.setdefault(
                d.tool_call_index, {"index": d.tool_call_index, "name": None, "arguments": ""}
            )
            call["name"] = call["name"] or d.name
            call["arguments"] += d.arguments or ""
    reasoning = "".join(d.reasoning or "" for d in deltas)
    content = "".join(d.content or "" for d in deltas if d.tool_call_index is None)
    return {
        "reasoning": reasoning or None,
        "content": content or None,
        "tool_calls": [calls[i] for i in sorted(calls)],
    }


def check_per_delta(case: dict, steps: list[list[Delta]]) -> None:
    """Each delta of `stream_deltas` yields what `expected_per_delta` says (None: nothing)."""
    expected = case.get("expected_per_delta")
    if not expected:
        return
    assert len(steps) == len(expected)
    for i, (want, got) in enumerate(zip(expected, steps, strict=True)):
        if want is None:
            assert not got, (i, got)
            continue
        summary = _step_summary(got)
        for key, value in want.items():
            assert summary[key] == value, (i, key, summary[key], value)
