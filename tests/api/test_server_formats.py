"""How the server gets its tool format: detection, `--tool-parser-plugin`, `--chat-template NAME`,
and what happens when no format fits."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from tests.api.toolsets import SCHEMAS, TOOLS
from tests.conftest import DATA, ROOT, Server

HELLO = [{"role": "user", "content": "Hello"}]


def test_a_plugin_format_is_served_end_to_end(demo_model):
    plugin = DATA / "plugin_format.py"
    server = Server(
        demo_model,
        "--tool-parser-plugin",
        str(plugin),
        "--tool-format",
        "tagged_json",
        "--chat-template",
        "qwen2.5",  # a template shipped with strictcall, by name
    )
    try:
        client = server.client()
        assert client.models.list().data[0].model_extra["tool_format"] == "tagged_json"
        for seed in range(4):
            request = dict(
                model=server.model,
                messages=HELLO,
                tools=TOOLS,
                tool_choice="required",
                max_tokens=200,
                seed=seed,
            )
            reply = client.chat.completions.create(**request)
            streamed = {}
            for chunk in client.chat.completions.create(stream=True, **request):
                for tc in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
                    if tc.id:
                        streamed[tc.index] = [tc.function.name, ""]
                    streamed[tc.index][1] += tc.function.arguments or ""
            calls = [
                (c.function.name, c.function.arguments) for c in reply.choices[0].message.tool_calls
            ]
            if reply.choices[0].finish_reason == "tool_calls":
                for name, arguments in calls + [tuple(v) for v in streamed.values()]:
                    jsonschema.validate(json.loads(arguments), SCHEMAS[name])
            assert calls
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tool-parser-plugin", "no/such/plugin.py"], "does not exist"),
        (["--tool-parser-plugin", str(ROOT / "tests" / "__init__.py")], "registered no format"),
        (["--chat-template", "no-such-template"], "mistral"),  # lists the shipped ones
        (["--tool-format", "no_such_format"], "known formats"),
    ],
)
def test_bad_flags_exit_with_a_message_that_says_what_to_do(flags, message):
    run = subprocess.run(
        [sys.executable, "-m", "strictcall", "serve", "unused-model", *flags],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert message in run.stderr


def _serve(model, *flags: str, seconds: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "strictcall", "serve", str(model), *flags],
        capture_output=True,
        text=True,
        timeout=seconds,
    )


def test_harmony_on_a_tokenizer_without_its_tokens_is_refused_at_start(demo_model):
    """`--tool-format openai` where the vocabulary has no Harmony tokens could never make a
    call: the server says so in one line and exits."""
    run = _serve(demo_model, "--tool-format", "openai", "--port", "1")
    assert run.returncode == 2, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.startswith("strictcall:")]
    assert len(lines) == 1 and "<|channel|>" in lines[0] and "openai" in lines[0], run.stderr


def test_a_tool_format_that_contradicts_the_template_warns_with_the_detected_one(demo_model):
    server = Server(demo_model, "--tool-format", "mistral")
    try:
        models = server.client().models.list()
        assert models.data[0].model_extra["tool_format"] == "mistral"  # the flag still wins
        log = server.log.read_text()
        assert "--tool-format mistral contradicts the chat template" in log
        assert "points to hermes" in log
    finally:
        server.stop()
