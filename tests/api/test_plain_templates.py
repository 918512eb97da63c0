"""Templates that render no tool calls serve plain chat: a request with tools gets a 400 that
says why, and a message the template cannot render (or would drop) a 400 naming it."""

from __future__ import annotations

import openai
import pytest

from tests.api.shared_families import shared_family
from tests.api.toolsets import TOOLS
from tests.conftest import Server, tiny_model

HELLO = [{"role": "user", "content": "Hello"}]
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
HISTORY = [
    {"role": "user", "content": "Weather?"},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]


@pytest.fixture(
    scope="module",
    params=[
        "plain-chat.jinja",
        "google-gemma-2-2b-it.jinja",
        "microsoft-Phi-3.5-mini-instruct.jinja",
        "llama-cpp-rwkv-world.jinja",
    ],
)
def plain(request):
    family = shared_family(request.param, request.param.split("-")[0] + "-plain")
    server = Server(tiny_model(family))
    yield request.param, server
    server.stop()


def test_plain_chat_works_and_tools_are_refused_with_the_reason(plain):
    _, server = plain
    client = server.client()
    assert client.models.list().data[0].model_extra["tool_format"] is None
    reply = client.chat.completions.create(model=server.model, messages=HELLO, max_tokens=5)
    assert reply.choices[0].message.tool_calls is None
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=server.model, messages=HELLO, tools=TOOLS)
    assert (
        "renders no tool calls" in err.value.message
        or "cannot render tool calls" in err.value.message
    )
    assert "--tool-format" in err.value.message and err.value.body["param"] == "tools"


def test_a_message_the_template_cannot_take_is_named(plain):
    file, server = plain
    client = server.client()
    if file == "plain-chat.jinja":
        pytest.skip("renders every message it is given")
    if file.startswith("google-gemma-2"):  # it raises on a system message
        messages = [{"role": "system", "content": "Be brief."}, *HELLO]
        where, says = "messages[0]", "System role not supported"
    else:  # it drops tool results silently
        messages, where, says = HISTORY, "messages[2]", "does not render"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=server.model, messages=messages, max_tokens=5)
    assert where in err.value.message and says in err.value.message
    assert err.value.code == "template_error"
