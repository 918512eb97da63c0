"""The published OpenAPI document, fuzzed with schemathesis: valid and invalid requests for
every operation. No 5xx, every error in its API's shape (OpenAI's; Anthropic's under
/v1/messages), every stream well formed.

(The operations are driven with Hypothesis directly: schemathesis' pytest loader,
`from_fixture`, relies on a pytest internal that pytest 9 removed.)
"""

from __future__ import annotations

import json
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import Server

ERROR_KEYS = {"message", "type", "param", "code"}
EXAMPLES = {GenerationMode.POSITIVE: 60, GenerationMode.NEGATIVE: 40}


@pytest.fixture(scope="module")
def fuzz_server(demo_model):
    # a short context bounds every generation the fuzzer can ask for
    s = Server(demo_model, "--max-model-len", "96")
    yield s
    s.stop()


def _operations(url: str) -> list:
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def _aim(case, model: str) -> None:
    """Most fuzzed bodies name no served model, or carry messages no template can render, and
    stop at the first check. Two thirds get the served model's name and one third of those a
    plain conversation too (chosen by a hash of the body, so runs repeat), so the fuzzed
    sampling, tool and format fields reach the grammar and the engine."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return
    pick = zlib.crc32(json.dumps(body, sort_keys=True, default=str).encode()) % 3
    if pick:
        body["model"] = model
    if pick == 1:
        body["messages"] = [{"role": "user", "content": "fuzz"}]


def _check_stream(text: str) -> None:
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert events and events[-1] == "[DONE]", text[-500:]
    for event in events[:-1]:
        payload = json.loads(event)
        if "error" in payload:
            assert set(payload["error"]) == ERROR_KEYS, payload
        else:
            assert payload["object"] == "chat.completion.chunk", payload


def _check_anthropic_stream(text: str) -> None:
    chunks = [c for c in text.split("\n\n") if c.strip()]
    names = []
    for chunk in chunks:
        lines = dict(line.split(": ", 1) for line in chunk.split("\n"))
        payload = json.loads(lines["data"])
        assert payload["type"] == lines["event"], chunk
        if payload["type"] == "error":
            assert set(payload["error"]) == {"type", "message"}, payload
        names.append(payload["type"])
    assert names[0] == "message_start", names
    assert names[-1] in ("message_stop", "error"), names


def _check_anthropic(response) -> None:
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"type", "error"} and body["type"] == "error", body
        assert set(body["error"]) == {"type", "message"} and body["error"]["message"], body
    elif "text/event-stream" in str(response.headers.get("content-type")):
        _check_anthropic_stream(response.text)


def _check(case, server: Server, seen: dict[int, int]) -> None:
    _aim(case, server.model)
    response = case.call(base_url=server.url, timeout=120)
    status = response.status_code
    seen[status] = seen.get(status, 0) + 1
    assert status < 500, (status, response.text[:1000], case.body)
    if case.operation.path.startswith("/v1/messages"):
        _check_anthropic(response)
    elif status >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == ERROR_KEYS, body
        assert body["error"]["message"], body
    elif "text/event-stream" in str(response.headers.get("content-type")):
        _check_stream(response.text)


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
def test_fuzzed_requests_get_no_5xx_and_openai_shaped_errors(fuzz_server, mode):
    seen: dict[int, int] = {}
    operations = _operations(fuzz_server.url)
    assert {op.path for op in operations} >= {"/v1/chat/completions", "/health", "/metrics"}
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # parameterless GETs have nothing to make invalid

        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            _check(case, fuzz_server, seen)

        try:
            run()
        except Unsatisfiable:
            # a negative case needs something to make invalid; an operation whose only input
            # is a free-form path string (GET/DELETE /v1/responses/{id}) has nothing
            if mode != GenerationMode.NEGATIVE:
                raise
    print(f"{mode}: responses by status {dict(sorted(seen.items()))}")
