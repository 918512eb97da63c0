"""Three-turn tool conversations render with every real template (issue 12 §3): assistant
messages with `content: null` and calls, tool results, the family's ids, reasoning in history.
A template that cannot render a message is refused naming it."""

from __future__ import annotations

import pytest

from strictcall.chat.probe import probe
from strictcall.chat.render import TemplateError, render_text
from strictcall.formats.detect import detect_format
from strictcall.formats.rendering import PROBE_TOOL
from tests.conftest import DATA

TOOLS = [PROBE_TOOL]
FOREIGN_ID = "call_Zq81bXW0e2h3C4kL5mN6oP7r"  # an OpenAI-style id
THOUGHT = "I should call the weather tool."


def _call(reasoning: bool = False) -> dict:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": FOREIGN_ID,
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    if reasoning:
        message["reasoning_content"] = THOUGHT
    return message


USER = {"role": "user", "content": "Weather in Paris?"}
RESULT = {"role": "tool", "tool_call_id": FOREIGN_ID, "content": "sunny 21C"}
THREE_TURNS = [
    USER,
    _call(),
    RESULT,
    {"role": "assistant", "content": "It is sunny."},
    {"role": "user", "content": "And Lyon?"},
]
# a system message they refuse: the one way these templates fail a conversation
REFUSED = {"google-gemma-2-2b-it.jinja": "messages[0]"}
# plain-chat templates that render a tool result as nothing
DROPS_RESULTS = ("llama-cpp-rwkv-world.jinja", "microsoft-Phi-3.5-mini-instruct.jinja")
TEMPLATES = sorted(p.name for p in (DATA / "templates").glob("*.jinja"))
VARIABLES = {"bos_token": "<s>", "eos_token": "</s>"}


def _render(file: str, messages: list[dict]) -> tuple[str, object]:
    template = (DATA / "templates" / file).read_text()
    rendering = probe(template)
    fmt = detect_format(template, (), rendering)
    call_id = fmt.prompt_call_id if fmt is not None else None
    return render_text(template, messages, TOOLS, VARIABLES, call_id), rendering


@pytest.mark.parametrize("file", TEMPLATES)
def test_a_three_turn_tool_conversation_renders(file):
    messages = [{"role": "system", "content": "Be brief."}, *THREE_TURNS]
    if file in REFUSED:
        with pytest.raises(TemplateError, match=REFUSED[file].replace("[", r"\[")):
            _render(file, messages)
        return
    text, rendering = _render(file, messages)
    if file in DROPS_RESULTS:
        return
    assert "sunny 21C" in text and "It is sunny." in text and text.rstrip().count("Lyon")
    if rendering.has_calls:  # the earlier call is in the history, after the first question
        assert "get_weather" in text.split("Weather in Paris?")[-1]


@pytest.mark.parametrize(
    ("file", "written"),
    [
        ("Kimi-K2-Instruct.jinja", "functions.get_weather:0"),
        ("mistralai-Mistral-Nemo-Instruct-2407.jinja", None),
        ("upstage-Solar-Open-100B.jinja", FOREIGN_ID),
    ],
)
def test_history_ids_are_in_the_familys_form(file, written):
    text, _ = _render(file, THREE_TURNS)
    if written is None:  # Mistral: a 9-alphanumeric id, the same for the call and its result
        assert FOREIGN_ID not in text
        from strictcall.formats.mistral import prompt_call_id

        assert text.count(prompt_call_id(FOREIGN_ID)) >= 2
    else:
        assert written in text


@pytest.mark.parametrize("file", TEMPLATES)
def test_reasoning_of_the_turn_in_progress_is_rendered(file):
    """Reasoning before a call, in the turn that is still going on (the call's result is the
    last message), is in the prompt wherever the template writes reasoning at all."""
    if file in REFUSED:
        pytest.skip("refuses a system message only; covered above")
    text, rendering = _render(file, [USER, _call(reasoning=True), RESULT])
    assert file in DROPS_RESULTS or "sunny 21C" in text
    if rendering.reasoning is not None:
        assert THOUGHT in text


def test_a_message_the_template_cannot_render_is_named():
    template = (
        "{% for m in messages %}{% if m.role == 'tool' %}{{ raise_exception('no tools') }}"
        "{% endif %}{{ m.content }}{% endfor %}"
    )
    messages = [USER, {"role": "assistant", "content": "hm"}, RESULT]
    with pytest.raises(TemplateError, match=r"no tools \(at messages\[2\]: a 'tool' message\)"):
        render_text(template, messages, None, {})


@pytest.mark.parametrize("file", DROPS_RESULTS)
def test_templates_that_drop_tool_results_say_so(file):
    """These render a tool result as nothing: the probe finds it (and the server refuses a
    conversation with one, naming it, instead of losing it silently)."""
    assert probe((DATA / "templates" / file).read_text()).tool_results is False
