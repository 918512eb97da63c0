"""Moonshot Kimi K3: tagged blocks (`<|open|>TAG attrs<|sep|>` ... `<|close|>TAG<|sep|>`);
calls in a tools block after the response block, one tagged argument per parameter.

    <|open|>think<|sep|>...<|close|>think<|sep|><|open|>response<|sep|>TEXT<|close|>response<|sep|>
    <|open|>tools<|sep|><|open|>call tool="get_weather" index="1"<|sep|>
    <|open|>argument key="city" type="string"<|sep|>Paris<|close|>argument<|sep|>
    <|open|>argument key="days" type="number"<|sep|>2<|close|>argument<|sep|>
    <|close|>call<|sep|><|close|>tools<|sep|><|close|>message<|sep|>

(no newlines: they are layout here). The template types each argument by its value
(`string`, `number` for integers too, `boolean`, `null`, `object`, `array`); strings are raw,
the rest JSON, so the opening says how to read the value (formats/xml_params.py) and the grammar
writes the type matching the schema's alternative it takes. The template's other spelling,
`<|open|>json type="object"<|sep|>{..}<|close|>json<|sep|>`, is only for arguments a client
sent as a JSON string: never written by the grammar, not read.

Ids: the model writes only `index="N"`, the call's number in its message (from 1); the template
matches tool results to calls by the client's `tool_call_id` and renders neither, so calls get
ordinary OpenAI ids (an id built from the index, as Kimi K2's `functions.NAME:IDX`, would repeat
in every turn). The prompt ends inside the think block when thinking is on (`thinking`, the
default) and inside the response block when it is off.
"""

from strictcall.formats.base import Format
from strictcall.formats.syntax import CallSyntax, Reasoning
from strictcall.formats.xml_params import XmlParamsBody
from strictcall.grammar.xml_parameters import XmlTags


def _open(tag: str) -> str:
    return f"<|open|>{tag}<|sep|>"


def _close(tag: str) -> str:
    return f"<|close|>{tag}<|sep|>"


def _typed(kind: str) -> str:
    return f'" type="{kind}"<|sep|>'


_KINDS = ("number", "boolean", "null", "object", "array")
_TAGS = XmlTags(
    call_index='" index="',
    name_end='"<|sep|>',
    key_open='<|open|>argument key="',
    key_close=_typed("string"),
    typed_key_close=(("integer", _typed("number")), *((k, _typed(k)) for k in _KINDS)),
    value_close=_close("argument"),
    layout="",
    separator="",
    function_close=_close("call"),
)

KIMI_K3 = Format(
    name="kimi_k3",
    aliases=("kimi3",),
    description='<|open|>call tool="NAME" index="N"<|sep|><|open|>argument key="K" type=".."',
    syntax=CallSyntax(
        section_start=_close("response") + _open("tools"),
        call_start='<|open|>call tool="',
        section_end=_close("tools"),
        trailer=_close("message"),
        body=XmlParamsBody(tags=_TAGS),
    ),
    reasoning=Reasoning(_open("think"), _close("think") + _open("response")),
    answer_end=_close("response") + _close("message"),
)
