"""Chat templates: the ones strictcall ships, `--chat-template NAME`, and call ids in history."""

from __future__ import annotations

import json

import jinja2
import pytest
from transformers.utils.chat_template_utils import render_jinja_template

from strictcall.chat.render import template_messages
from strictcall.chat.shipped import read_template, shipped_template, shipped_templates
from strictcall.formats import get_format
from strictcall.formats.mistral import prompt_call_id
from tests.api.toolsets import TOOLS
from tests.conftest import DATA

FOREIGN_ID = "call_Zq81bXW0e2h3C4kL5mN6oP7r"
ARGS = {"city": "Paris", "unit": "celsius"}
HISTORY = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": FOREIGN_ID,
                "type": "function",
                "function": {"name": "get_weather", "arguments": json.dumps(ARGS)},
            }
        ],
    },
    {"role": "tool", "tool_call_id": FOREIGN_ID, "content": "sunny, 21 C"},
]
SPECIAL = {"bos_token": "<s>", "eos_token": "</s>"}


def render(template: str, messages, call_id=None) -> str:
    out, _ = render_jinja_template(
        [template_messages(messages, call_id)],
        tools=TOOLS,
        chat_template=template,
        add_generation_prompt=True,
        **SPECIAL,
    )
    return out[0]


def test_official_mistral_template_needs_the_ids_mapped():
    nemo = (DATA / "templates" / "mistralai-Mistral-Nemo-Instruct-2407.jinja").read_text()
    with pytest.raises(jinja2.TemplateError, match="length 9"):
        render(nemo, HISTORY)
    text = render(nemo, HISTORY, get_format("mistral").prompt_call_id)
    mapped = prompt_call_id(FOREIGN_ID)
    assert f'"id": "{mapped}"' in text and f'"call_id": "{mapped}"' in text


@pytest.mark.parametrize(
    ("name", "call_text"),
    [
        ("mistral", "[TOOL_CALLS]["),
        ("granite-20b-fc", "<function_call> "),
        ("internlm", "<|action_start|><|plugin|>\n"),
    ],
)
def test_shipped_templates_render_tool_history_as_their_format_reads_it(name, call_text):
    template = shipped_template(name)
    fmt = get_format(name)
    text = render(template, HISTORY, fmt.prompt_call_id)
    assert "sunny, 21 C" in text and "Be brief." in text
    assert "get-time" in text  # the tools are shown
    start = text.index(call_text)
    written = fmt.parse(text[start:], TOOLS)
    assert [(c.name, json.loads(c.arguments)) for c in written.tool_calls] == [
        ("get_weather", ARGS)
    ]


def test_chat_template_accepts_a_shipped_name_or_a_path(tmp_path):
    assert {"mistral", "internlm", "granite-20b-fc", "qwen2.5"} <= set(shipped_templates())
    assert read_template("mistral") == shipped_template("mistral.jinja")
    path = tmp_path / "mine.jinja"
    path.write_text("{{ messages }}")
    assert read_template(path) == "{{ messages }}"
    with pytest.raises(FileNotFoundError, match="internlm"):
        read_template("no-such-template")
