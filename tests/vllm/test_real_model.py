"""One request to vLLM serving the real default model (the real-model issue's), then SIGTERM:
strictcall stops, and the vLLM it started goes with it."""

from __future__ import annotations

import json
import os
import signal
import time

from strictcall.weights import DEFAULT_MODEL, pull
from tests.api.toolsets import SCHEMAS, TOOLS
from tests.conftest import CACHE
from tests.vllm.conftest import start_vllm_server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) counts as gone
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_the_real_model_on_vllm_makes_a_valid_call_and_stops_with_strictcall():
    import jsonschema

    model = pull(DEFAULT_MODEL, CACHE.parent / "models")
    v = start_vllm_server(model, "--max-model-len", "4096")
    try:
        r = v.strictcall.client().chat.completions.create(
            model=v.strictcall.model,
            messages=[{"role": "user", "content": "What's the weather in Paris, in celsius?"}],
            tools=TOOLS,
            tool_choice="required",
            max_tokens=120,
            temperature=0,
        )
        calls = r.choices[0].message.tool_calls
        assert r.choices[0].finish_reason == "tool_calls" and calls
        for c in calls:
            jsonschema.validate(json.loads(c.function.arguments), SCHEMAS[c.function.name])
        assert calls[0].function.name == "get_weather"
    finally:
        v.strictcall.proc.send_signal(signal.SIGTERM)
        code = v.strictcall.proc.wait(timeout=60)
    assert code in (0, -signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _alive(v.vllm_pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(v.vllm_pid), "the vLLM that strictcall started outlived it"
