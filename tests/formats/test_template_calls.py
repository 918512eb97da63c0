"""Each declared family reads back exactly what its real chat template renders for calls.

The template is rendered by the probe detection uses (chat/probe.py): the same conversation
ending in a plain answer and ending in one, then two calls; what the calls add is cut out and
parsed. This pins each declaration to its family's own writing.
"""

from __future__ import annotations

import json

import pytest

from strictcall.chat.probe import probe
from strictcall.formats import get_format
from strictcall.formats.rendering import PROBE_TOOL
from tests.conftest import DATA

TEMPLATES = {
    "glm45": "GLM-4.6.jinja",
    "deepseek_v32": "deepseek-ai-DeepSeek-V3.2.jinja",
    "minimax_m2": "MiniMax-M2.jinja",
    "seed_oss": "ByteDance-Seed-OSS.jinja",
    "step3p5": "StepFun3.5-Flash.jinja",
    "nemotron_json": "NVIDIA-Nemotron-Nano-v2.jinja",
    "apriel": "Apriel-1.6-15b-Thinker-fixed.jinja",
    "command_r7b": "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja",
    "lfm2": "LFM2.5-8B-A1B.jinja",
    "phi4_mini_json": "fireworks-ai-llama-3-firefunction-v2.jinja",
    "kimi_k2": "Kimi-K2-Instruct.jinja",
    "gemma4": "google-gemma-4-31B-it.jinja",
    "kimi_k3": "Kimi-K3.jinja",
    "muse_glimmer": "muse-glimmer.jinja",
    "functionary_v3_2": "meetkai-functionary-medium-v3.2.jinja",
    "solar_open": "upstage-Solar-Open-100B.jinja",
}


def _samples(name: str):
    rendering = probe((DATA / "templates" / TEMPLATES[name]).read_text())
    assert len(rendering.samples) == 2, rendering  # one call and two calls
    return rendering.samples


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_family_reads_the_calls_its_template_renders(name):
    fmt = get_format(name)
    for sample in _samples(name):
        result = fmt.parse(sample.text, [PROBE_TOOL])
        got = [(c.name, json.loads(c.arguments)) for c in result.tool_calls]
        assert got == list(sample.calls), sample.text
        assert not result.incomplete


def test_solar_open_ids_are_the_ones_the_template_writes():
    two = _samples("solar_open")[1]
    result = get_format("solar_open").parse(two.text, [PROBE_TOOL])
    assert [c.id for c in result.tool_calls] == ["a1B2c3D4e", "f5G6h7I8j"]


def test_kimi_ids_are_the_ones_the_template_writes():
    two = _samples("kimi_k2")[1]
    result = get_format("kimi_k2").parse(two.text, [PROBE_TOOL])
    assert [c.id for c in result.tool_calls] == [
        "functions.get_weather:0",
        "functions.get_weather:1",
    ]
