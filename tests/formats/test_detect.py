"""`--tool-format auto`: the format is read from the chat template (and the vocabulary), for the
real templates and for releases of the same families the rules were not written from."""

from __future__ import annotations

import pytest

from strictcall.chat.shipped import shipped_template, shipped_templates
from strictcall.formats import format_names
from strictcall.formats.detect import detect_format, detect_name
from tests.conftest import DATA

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
}

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
