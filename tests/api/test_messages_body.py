"""A tool_use block's input is the model's JSON text, spliced in verbatim (route.MessageResponse).

A random model once wrote `1e400`: valid JSON, read by Python as inf, which JSON cannot write,
so the body failed to render (a 500). Written verbatim it is the model's call as made.
"""

import json

from strictcall.api.messages.route import MessageResponse, tool_use_block
from strictcall.formats.types import ToolCall


def render(*calls: ToolCall) -> dict:
    body = {"content": [tool_use_block(c) for c in calls], "text": "\u0000 a NUL stays text"}
    return json.loads(MessageResponse(body).body)


def test_numbers_beyond_float_range_are_written_as_the_model_wrote_them():
    text = '{"n": 1e400, "m": -12345678901234567890123, "s": "x"}'
    out = MessageResponse({"content": [tool_use_block(ToolCall("call_1", "f", text))]}).body
    assert b'"input":' + text.encode() in out
    parsed = json.loads(out)["content"][0]
    assert parsed["input"]["m"] == -12345678901234567890123 and parsed["name"] == "f"


def test_several_calls_and_text_around_them_keep_their_places():
    body = render(ToolCall("a", "f", '{"x": 1}'), ToolCall("b", "g", '{"y": [true, null]}'))
    assert [b["input"] for b in body["content"]] == [{"x": 1}, {"y": [True, None]}]
    assert body["text"] == "\u0000 a NUL stays text"


def test_arguments_that_are_not_json_come_back_as_text():
    # only with --constrain off: Python's NaN is not JSON either
    for text in ('{"x": NaN}', '{"x": '):
        assert render(ToolCall("a", "f", text))["content"][0]["input"] == text
