"""`--tool-format auto`: the format is read from what the chat template renders for sample calls
(else its text, else the vocabulary), for the real templates and for releases of the same
families no rule was written from."""

from __future__ import annotations

import json

import pytest

from strictcall.chat.probe import probe
from strictcall.chat.shipped import shipped_template, shipped_templates
from strictcall.formats import CallSyntax, Format, JsonObjectBody, format_names, get_format
from strictcall.formats import registry as registry_module
from strictcall.formats.detect import detect_format as _detect_format
from strictcall.formats.detect import detect_name as _detect_name
from strictcall.formats.rendering import PROBE_TOOL
from tests.conftest import DATA


def detect_name(template, tokens=()):
    return _detect_name(template, tokens, probe(template))


def detect_format(template, tokens=None):
    return _detect_format(template, tokens, probe(template))


REAL = {
    "Qwen-Qwen2.5-7B-Instruct.jinja": "hermes",
    "Qwen-Qwen3-0.6B.jinja": "hermes",
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja": "hermes",
    "Qwen3-Coder.jinja": "qwen3_coder",
    "meta-llama-Llama-3.1-8B-Instruct.jinja": "llama3_json",
    "meta-llama-Llama-3.2-3B-Instruct.jinja": "llama3_json",
    "mistralai-Mistral-Nemo-Instruct-2407.jinja": "mistral",
    "ibm-granite-granite-3.3-2B-Instruct.jinja": "granite",
    "deepseek-ai-DeepSeek-V3.1.jinja": "deepseek_v31",
    "openai-gpt-oss-120b.jinja": "openai",
    "Apriel-1.6-15b-Thinker-fixed.jinja": "apriel",
    "Bielik-11B-v3.0-Instruct.jinja": "hermes",
    "ByteDance-Seed-OSS.jinja": "seed_oss",
    "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja": "command_r7b",
    "GLM-4.6.jinja": "glm45",
    "Kimi-K2-Instruct.jinja": "kimi_k2",
    "Kimi-K3.jinja": "kimi_k3",
    "muse-glimmer.jinja": "muse_glimmer",
    "LFM2.5-8B-A1B.jinja": "lfm2",
    "MiMo-VL.jinja": "hermes",
    "MiniMax-M2.jinja": "minimax_m2",
    "NVIDIA-Nemotron-Nano-v2.jinja": "nemotron_json",
    "Reka-Edge.jinja": "hermes",
    "StepFun3.5-Flash.jinja": "step3p5",
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja": "deepseek_v3",
    "deepseek-ai-DeepSeek-V3.2.jinja": "deepseek_v32",
    "fireworks-ai-llama-3-firefunction-v2.jinja": "phi4_mini_json",
    "inclusionai-ling-3.0-flash.jinja": "glm45",
    "mistralai-Ministral-3-14B-Reasoning-2512.jinja": "mistral",
    "poolside-Laguna-XS.2.jinja": "glm45",
    "google-gemma-4-31B-it.jinja": "gemma4",
    "meetkai-functionary-medium-v3.2.jinja": "functionary_v3_2",
    "upstage-Solar-Open-100B.jinja": "solar_open",
}

# Templates that render no tool calls at all: plain chat (tools get a 400 saying so).
NO_CALLS = (
    "google-gemma-2-2b-it.jinja",
    "microsoft-Phi-3.5-mini-instruct.jinja",
    "llama-cpp-rwkv-world.jinja",
)

# Templates of releases the rules were not written from (shortened to what tells them apart).
VARIANTS = {
    "qwen2.5-other-wording": (
        "{%- if tools %}<|im_start|>system\nTools you may use:\n<tools>{{ tools|tojson }}</tools>"
        '\nReply with <tool_call>{"name": .., "arguments": ..}</tool_call> to use one.'
        "<|im_end|>{%- endif %}{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}"
        "<|im_end|>{%- endfor %}",
        "hermes",
    ),
    "hermes-2-pro": (
        "{% for message in messages %}<|im_start|>{{ message.role }}\n{% if message.tool_calls %}"
        "{% for c in message.tool_calls %}<tool_call>\n{{ c.function|tojson }}\n</tool_call>"
        "{% endfor %}{% endif %}<|im_end|>{% endfor %}",
        "hermes",
    ),
    "granite-3.0": (
        "{%- for m in messages %}<|start_of_role|>{{ m.role }}<|end_of_role|>"
        "{%- if m.tool_calls %}<|tool_call|>"
        "{{ m.tool_calls|map(attribute='function')|list|tojson }}"
        "{%- else %}{{ m.content }}{%- endif %}<|end_of_text|>\n{%- endfor %}",
        "granite",
    ),
    # Granite 4.0 writes Hermes' calls inside Granite's roles: its rendering, not its role
    # markers, says which format it is
    "granite-4.0": (
        "{%- for m in messages %}<|start_of_role|>{{ m.role }}<|end_of_role|>{{ m.content }}"
        "{%- for tc in m.tool_calls or [] %}<tool_call>\n{{ tc.function | tojson }}\n</tool_call>"
        "{%- endfor %}<|end_of_text|>\n{%- endfor %}",
        "hermes",
    ),
    "granite-3.1-tag": (
        "{%- for m in messages %}<|start_of_role|>{{ m.role }}<|end_of_role|>{{ m.content }}"
        "{%- if m.tool_calls %}<tool_call>{{ m.tool_calls|tojson }}{%- endif %}<|end_of_text|>"
        "{%- endfor %}",
        "granite",
    ),
    "granite-20b-fc": (
        "SYSTEM: Use the following function calls.\n<|function_call_library|>\n"
        "{% for t in tools %}{{ t|tojson }}\n{% endfor %}"
        'Output "<function_call> {\\"name\\": ..}".{% for m in messages %}\n{{ m.role|upper }}: '
        "{{ m.content }}{% endfor %}\nASSISTANT:",
        "granite-20b-fc",
    ),
    "mistral-v3-args": (
        "{%- for m in messages %}{%- if m.role == 'user' %}[AVAILABLE_TOOLS]{{ tools|tojson }}"
        "[/AVAILABLE_TOOLS][INST]{{ m.content }}[/INST]{%- elif m.tool_calls %}"
        "{%- for c in m.tool_calls %}[TOOL_CALLS]{{ c.function.name }}[ARGS]"
        "{{ c.function.arguments|tojson }}{%- endfor %}</s>{%- endif %}{%- endfor %}",
        "mistral",
    ),
    "llama-3.3": (
        "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please "
        "respond with a JSON for a function call with its proper arguments.\n\nRespond in the "
        'format {"name": function name, "parameters": dictionary of argument name and its value}'
        ".{% for t in tools %}{{ t|tojson(indent=4) }}{% endfor %}<|eot_id|>",
        "llama3_json",
    ),
    "llama-3.2-pythonic": (
        "<|start_header_id|>system<|end_header_id|>\n\nYou have access to functions. To call "
        "functions, respond with a python list of the calls. Respond in the format "
        "[func_name1(params_name1=params_value1, params_name2=params_value2...), "
        "func_name2(params)]{{ tools|tojson }}<|eot_id|>",
        "pythonic",
    ),
    "llama-4": (
        "<|header_start|>assistant<|header_end|>\n\n{%- if m.tool_calls %}<|python_start|>"
        "{{ m.tool_calls|tojson }}<|python_end|>{%- endif %}<|eot|>{{ tools|tojson }}",
        "llama4_pythonic",
    ),
    "internlm2.5": (
        "<|im_start|>system name=<|plugin|>\n{{ tools|tojson }}<|im_end|>\n"
        "{% for c in calls %}<|action_start|><|plugin|>\n{{ c|tojson }}<|action_end|>{% endfor %}",
        "internlm",
    ),
    "deepseek-v3": (
        "{%- for tool in message['tool_calls'] %}{{'<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' "
        "+ tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '```json' + "
        "'\\n' + tool['function']['arguments'] + '\\n' + '```' + '<｜tool▁call▁end｜>'}}"
        "{%- endfor %}{{'<｜tool▁calls▁end｜>'}}",
        "deepseek_v3",
    ),
    "qwen3-coder-next": (
        "{{ tools|tojson }}<tool_call>\n<function=example_function_name>\n"
        "<parameter=example_parameter_1>\nvalue_1\n</parameter>\n</function>\n</tool_call>",
        "qwen3_coder",
    ),
    "gpt-oss-20b": (
        "{{- '<|start|>assistant<|channel|>commentary to=functions.' + name + "
        "' <|constrain|>json<|message|>' + args + '<|call|>' }}{{ tools }}",
        "openai",
    ),
}

NO_TOOLS = {
    "plain": "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}",
    "llama-3.0": (
        "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n"
        "{{ m.content|trim }}<|eot_id|>{% endfor %}"
    ),
    "chatml": (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}"
    ),
}

# Official templates that do not render tools: the vocabulary still tells the family.
BY_VOCABULARY = {
    "internlm2.5-official": ({"<|im_start|>", "<|action_start|>", "<|plugin|>"}, "internlm"),
    "mistral-no-tools": ({"[INST]", "[/INST]", "[TOOL_CALLS]"}, "mistral"),
    "granite-no-tools": ({"<|start_of_role|>", "<|tool_call|>"}, "granite"),
}


def _registered(name: str) -> None:
    if name not in format_names():
        pytest.skip(f"format {name} is implemented in another branch")


@pytest.mark.parametrize(("file", "expected"), REAL.items(), ids=REAL.keys())
def test_real_templates(file, expected):
    template = (DATA / "templates" / file).read_text()
    assert detect_name(template).name == expected
    _registered(expected)
    assert detect_format(template).name == expected


# Templates no declaration reads: a format is derived from their rendering (formats/derive.py).
DERIVED = {
    "Apertus-8B-Instruct.jinja": '<|tools_prefix|>[{"get_weather": ',
    "GigaChat3-10B-A1.8B.jinja": "function call<|role_sep|>",
    "MiniMax-M1.jinja": "<tool_calls>",
    "openbmb-MiniCPM5-1B.jinja": '<function name="',
    "tencent-Hy3.jinja": "<tool_call:opensource>",
}


@pytest.mark.parametrize("file", DERIVED, ids=DERIVED.keys())
def test_a_template_no_declaration_reads_gets_a_derived_format(file, caplog):
    template = (DATA / "templates" / file).read_text()
    with caplog.at_level("INFO", logger="strictcall.formats.detect"):
        fmt = detect_format(template)
    assert fmt.name == "derived" and DERIVED[file] in fmt.description
    assert "derived" in caplog.text and DERIVED[file] in caplog.text
    for sample in probe(template).samples:  # it reads back what the template renders
        if len(sample.calls) > 1 and not fmt.syntax.repeats:
            continue  # a template whose calls have no marker between them: one call
        result = fmt.parse(sample.text, [PROBE_TOOL])
        assert [(c.name, json.loads(c.arguments)) for c in result.tool_calls] == list(sample.calls)


def test_a_declared_format_wins_over_derivation():
    """Derivation is for what no declaration reads: Qwen's template stays `hermes`."""
    template = (DATA / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja").read_text()
    assert detect_format(template).name == "hermes"


@pytest.mark.parametrize("file", NO_CALLS)
def test_templates_that_render_no_calls_detect_nothing(file):
    template = (DATA / "templates" / file).read_text()
    rendering = probe(template)
    assert not rendering.has_calls and rendering.note
    assert detect_format(template) is None


# The syntax variant each template renders (index into the format's `syntaxes`, canonical 0).
WRITTEN = {
    "mistralai-Mistral-Nemo-Instruct-2407.jinja": ("mistral", "V1"),
    "mistralai-Ministral-3-14B-Reasoning-2512.jinja": ("mistral", "V3"),
}


@pytest.mark.parametrize("file", WRITTEN, ids=WRITTEN.keys())
def test_the_variant_the_template_renders_is_the_one_written(file):
    from strictcall.formats import mistral

    name, variant = WRITTEN[file]
    fmt = detect_format((DATA / "templates" / file).read_text())
    assert fmt.syntax == getattr(mistral, variant)
    assert set(fmt.syntaxes) == set(get_format(name).syntaxes)  # and every one is still read


def test_granite_writes_the_marker_its_vocabulary_has_when_the_template_renders_no_calls():
    template = (DATA / "templates" / "ibm-granite-granite-3.3-2B-Instruct.jinja").read_text()
    assert detect_format(template, {"<|tool_call|>"}).syntax.trigger == "<|tool_call|>"
    assert detect_format(template, {"<tool_call>"}).syntax.trigger == "<tool_call>"


def test_a_plugin_format_takes_part(monkeypatch):
    """A format registered by a plugin is detected from the rendering like a built-in one."""
    template = (
        "{%- for m in messages %}{{ m.role }}: {{ m.content }}"
        "{%- for c in m.tool_calls or [] %}<<call>>{{ c.function | tojson }}<</call>>"
        "{%- endfor %}\n{%- endfor %}"
    )
    assert detect_format(template) is None or detect_format(template).name != "plugged"
    syntax = CallSyntax(call_start="<<call>>", call_end="<</call>>", body=JsonObjectBody())
    plugged = Format(name="plugged", syntax=syntax)
    monkeypatch.setitem(registry_module._FORMATS, "plugged", plugged)
    found = detect_name(template)
    assert found.name == "plugged" and "<<call>>" in found.reason


def test_rendering_beats_the_substring_rules():
    """The Granite 4.0 template has Granite's markers in its text, which the rules would take
    for `granite`; what it renders is Hermes."""
    template = VARIANTS["granite-4.0"][0]
    assert "<|start_of_role|>" in template
    assert detect_name(template).name == "hermes"
    assert _detect_name(template).name == "granite"  # the rules alone (no rendering)


@pytest.mark.parametrize(("key"), VARIANTS, ids=VARIANTS.keys())
def test_releases_the_rules_were_not_written_from(key):
    template, expected = VARIANTS[key]
    assert detect_name(template).name == expected
    _registered(expected)
    assert detect_format(template).name == expected


@pytest.mark.parametrize("key", BY_VOCABULARY, ids=BY_VOCABULARY.keys())
def test_vocabulary_decides_when_the_template_is_silent(key):
    tokens, expected = BY_VOCABULARY[key]
    template = NO_TOOLS["chatml"]
    assert detect_name(template, tokens).name == expected
    assert detect_format(template, tokens).name == expected


@pytest.mark.parametrize("key", NO_TOOLS, ids=NO_TOOLS.keys())
def test_nothing_is_detected_without_tool_markers(key):
    assert detect_name(NO_TOOLS[key], {"<|eot_id|>", "<|python_tag|>"}) is None
    assert detect_format(NO_TOOLS[key]) is None


SHIPPED = {
    "mistral": "mistral",
    "granite-20b-fc": "granite-20b-fc",
    "internlm": "internlm",
    "llama3.2-pythonic": "pythonic",
}


def test_shipped_templates_are_detected_as_their_family():
    assert set(SHIPPED) <= set(shipped_templates())
    for template, expected in SHIPPED.items():
        assert detect_format(shipped_template(template)).name == expected


def test_detection_logs_its_choice(caplog):
    with caplog.at_level("INFO", logger="strictcall.formats.detect"):
        detect_format(
            (DATA / "templates" / "mistralai-Mistral-Nemo-Instruct-2407.jinja").read_text()
        )
    assert "mistral" in caplog.text and "[TOOL_CALLS]" in caplog.text
    assert "renders for a call" in caplog.text  # why: the rendering, not a substring


def test_formats_with_their_own_renderer_are_found_by_their_markers():
    found = detect_name((DATA / "templates" / "openai-gpt-oss-120b.jinja").read_text())
    assert found.name == "openai" and "<|channel|>" in found.reason
