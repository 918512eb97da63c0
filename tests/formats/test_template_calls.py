"""Each declared family reads back exactly what its real chat template renders for calls.

The template is rendered (as transformers renders it) for the same conversation twice: ending
in a plain answer and ending in two calls; what the calls add is cut out and parsed. This is
what detection by rendering checks, and it pins each declaration to its family's own writing.
"""

from __future__ import annotations

import json

import jinja2
import pytest
from transformers.utils.chat_template_utils import _compile_jinja_template

from strictcall.formats import get_format
from tests.conftest import DATA

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "n": {"type": "integer"}},
            },
        },
    }
]
CALLS = [("get_weather", {"city": "Paris", "n": 2}), ("get_weather", {"city": "Paris", "n": 3})]

# format -> (template, extra template variables, arguments as a JSON string in history)
TEMPLATES = {
    "glm45": ("GLM-4.6.jinja", {}, False),
    "deepseek_v32": ("deepseek-ai-DeepSeek-V3.2.jinja", {}, False),
    "minimax_m2": ("MiniMax-M2.jinja", {}, False),
    "seed_oss": ("ByteDance-Seed-OSS.jinja", {}, False),
    "step3p5": ("StepFun3.5-Flash.jinja", {}, False),
    "nemotron_json": ("NVIDIA-Nemotron-Nano-v2.jinja", {}, False),
    "apriel": ("Apriel-1.6-15b-Thinker-fixed.jinja", {}, False),
    "command_r7b": ("CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", {}, False),
    "lfm2": ("LFM2.5-8B-A1B.jinja", {}, False),
    "phi4_mini_json": (
        "fireworks-ai-llama-3-firefunction-v2.jinja",
        {"functions": "[]", "datetime": "today"},
        True,
    ),
    # Kimi's template calls list.append, which transformers' sandbox refuses: rendered in a
    # plain sandbox here (its markers and ids are what matter)
    "kimi_k2": ("Kimi-K2-Instruct.jinja", {}, False),
}


def _render(template: str, messages: list[dict], extra: dict, plain_sandbox: bool) -> str:
    source = (DATA / "templates" / template).read_text()
    if plain_sandbox:
        env = jinja2.sandbox.SandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)
        compiled = env.from_string(source)
    else:
        compiled = _compile_jinja_template(source)
    return compiled.render(
        messages=messages, tools=TOOLS, bos_token="<s>", eos_token="</s>", **extra
    )


def _rendered_calls(name: str) -> str:
    template, extra, string_args = TEMPLATES[name]
    calls = [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": n, "arguments": json.dumps(a) if string_args else a},
        }
        for i, (n, a) in enumerate(CALLS)
    ]
    user = {"role": "user", "content": "hi"}
    plain = name == "kimi_k2"
    answer = _render(template, [user, {"role": "assistant", "content": "X"}], extra, plain)
    called = _render(
        template, [user, {"role": "assistant", "content": "", "tool_calls": calls}], extra, plain
    )
    start = 0
    while answer[start] == called[start]:
        start += 1
    while start and called[start - 1] not in ">\n":  # not inside a marker both begin with
        start -= 1
    end = 0
    while end < len(answer) - start and answer[-1 - end] == called[-1 - end]:
        end += 1
    return called[start : len(called) - end]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_family_reads_the_calls_its_template_renders(name):
    text = _rendered_calls(name)
    fmt = get_format(name)
    result = fmt.parse(text, TOOLS)
    got = [(c.name, json.loads(c.arguments)) for c in result.tool_calls]
    assert got == CALLS, text
    assert not result.incomplete


def test_kimi_ids_are_the_ones_the_template_writes():
    result = get_format("kimi_k2").parse(_rendered_calls("kimi_k2"), TOOLS)
    assert [c.id for c in result.tool_calls] == [
        "functions.get_weather:0",
        "functions.get_weather:1",
    ]
