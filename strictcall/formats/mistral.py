"""Mistral: `[TOOL_CALLS]` in three generations, all read, the model's own one written (the
one its chat template renders, formats/detect.py).

  v1 (7B v0.3, Nemo 2407, Large 2407)    [TOOL_CALLS][{"name": "f", "arguments": {..}}, ...]
  v2                                     [TOOL_CALLS]f{..}[TOOL_CALLS]g{..}
  v3 (Magistral, Devstral 2507+, v11+)   [TOOL_CALLS]f[ARGS]{..}[TOOL_CALLS]g[ARGS]{..}

The parser also reads what these models write now and then: a space after the marker, one
object without the list, the marker written twice, arguments encoded as a JSON string, a
bare name for a call without arguments. Call ids are 9 alphanumerics, the only shape Mistral's
templates accept; ids from other servers are mapped onto that shape when history is rendered.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from typing import Any

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody, NamedJsonBody
from strictcall.formats.syntax import CallSyntax, Reasoning

_ALNUM = string.ascii_letters + string.digits
_MARK = "[TOOL_CALLS]"

_OBJECT = JsonObjectBody(string_args=True)
_LIST: dict[str, Any] = {"separator": ", ", "section_end": "]", "body": _OBJECT}

V1 = CallSyntax(section_start=_MARK + "[", trigger_marker=_MARK, **_LIST)
V2 = CallSyntax(
    call_start=_MARK, body=NamedJsonBody(alt_name_suffixes=("[ARGS]",), args_optional=True)
)
V3 = CallSyntax(
    call_start=_MARK,
    body=NamedJsonBody(name_suffix="[ARGS]", alt_name_suffixes=("",), args_optional=True),
)
_OFF_FORMAT = (
    CallSyntax(section_start=_MARK, separator=", ", body=_OBJECT),  # one object, no list
    CallSyntax(section_start=f"{_MARK} {_MARK} [", **_LIST),  # the marker twice
    CallSyntax(section_start=f"{_MARK} {_MARK}", separator=", ", body=_OBJECT),
)


def mistral_call_id() -> str:
    """9 alphanumerics, the call id shape Mistral's templates and tokenizers require."""
    return "".join(secrets.choice(_ALNUM) for _ in range(9))


def prompt_call_id(call_id: str) -> str:
    """An earlier turn's call id as Mistral's templates accept it: kept when it already is 9
    alphanumerics, else mapped (the same way for the call and its result) onto 9 of them."""
    if len(call_id) == 9 and call_id.isascii() and call_id.isalnum():
        return call_id
    n = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")
    out = []
    for _ in range(9):
        n, r = divmod(n, len(_ALNUM))
        out.append(_ALNUM[r])
    return "".join(out)


MISTRAL = Format(
    name="mistral",
    description="[TOOL_CALLS] list, name{json} or name[ARGS]{json} (Mistral, Mixtral, Magistral)",
    syntax=V1,
    variants=(V2, V3, *_OFF_FORMAT),
    reasoning=Reasoning("[THINK]", "[/THINK]"),
    new_id=mistral_call_id,
    prompt_call_id=prompt_call_id,
)
