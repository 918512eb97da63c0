"""Tiny models of the shared templates that no hand-written TinyFamily covers (issue 12 §1):
each with its real chat template and, as special tokens, the markers its rendering shows; its
turn ends where the template closes an answer. For tests/api/test_families.py."""

from __future__ import annotations

import re

from strictcall.chat.render import TemplateError, render_text
from strictcall.demo import TinyFamily
from strictcall.formats.rendering import PROBE_TOOL
from tests.api.family_harness import FamilyCase
from tests.conftest import DATA

_MARKER = re.compile(r"<\|[^|<>\s]+\|>|<｜[^｜<>\s]+｜>|</?[A-Za-z_][\w:]*>|\[/?[A-Z_]+\]")
_ANSWER = "An answer"
_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "a1B2c3D4e",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ],
}
_VARIABLES = {"bos_token": "<s>", "eos_token": "</s>"}
_CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather?"},
    _CALL,
    {"role": "tool", "tool_call_id": "a1B2c3D4e", "content": "sunny"},
    {"role": "assistant", "content": _ANSWER},
    {"role": "user", "content": "Thanks"},
]


def _render(template: str) -> str:
    # Gemma 2 refuses system messages and tool results: what it can render
    plain = [m for m in _CONVERSATION if m["role"] in ("user", "assistant") and m["content"]]
    for messages in (_CONVERSATION, _CONVERSATION[1:], plain):
        try:
            return render_text(template, messages, [PROBE_TOOL], _VARIABLES)
        except TemplateError:
            continue
    raise AssertionError("the template renders no conversation")


def shared_family(file: str, name: str, **overrides: object) -> TinyFamily:
    """A TinyFamily for `file`: the markers its renderings show are its special tokens, and the
    first marker after an answer ends the turn (unless `overrides` say otherwise)."""
    template = (DATA / "templates" / file).read_text()
    text = _render(template)
    found_markers = _MARKER.findall(text)
    # the closers of markers seen open (`</think>`, which only the model writes)
    closers = [f"</{m[1:]}" for m in found_markers if m[1] != "/" and f"</{m[1:]}" in template]
    markers = tuple(dict.fromkeys(found_markers + closers))
    after = text[text.index(_ANSWER) + len(_ANSWER) :] if _ANSWER in text else ""
    found = _MARKER.search(after)
    eos = found.group() if found else "<|endoftext|>"
    tokens = markers if eos in markers else (*markers, eos)
    family: dict[str, object] = {
        "name": name,
        "template": str(DATA / "templates" / file),
        "control_tokens": tokens,
        "eos": eos,
        "bos": "<s>" if "<s>" in markers else None,
    }
    family.update(overrides)
    return TinyFamily(**family)  # type: ignore[arg-type]


def _case(file: str, name: str, fmt: str, trigger: str, **kw: object) -> FamilyCase:
    reasoning = kw.pop("reasoning", False)
    # a prompt that opens reasoning: the model must close it before it can call
    favour = kw.pop("favour", None) or {trigger: 6, "</think>": 8}
    case = FamilyCase(shared_family(file, name, **kw), fmt, favour=favour)
    case.reasoning = bool(reasoning)
    case.seeds = 4
    return case


SHARED_CASES = [
    # no declaration reads these: the format is derived from the rendering
    _case("Apertus-8B-Instruct.jinja", "apertus", "derived", "<|tools_prefix|>"),
    # a call is a message of its own, after `<|message_sep|>`: that marker cannot end the turn
    _case("GigaChat3-10B-A1.8B.jinja", "gigachat3", "derived", "<|message_sep|>", eos="</s>"),
    _case("MiniMax-M1.jinja", "minimax-m1", "derived", "<tool_calls>"),
    _case(
        "openbmb-MiniCPM5-1B.jinja", "minicpm5", "derived", "<function", added_tokens=("<function",)
    ),
    _case("tencent-Hy3.jinja", "hy3", "derived", "<tool_calls:opensource>"),
    # declared families, detected from releases their rules were not written for
    _case("Bielik-11B-v3.0-Instruct.jinja", "bielik", "hermes", "<tool_call>"),
    _case("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "hermes-3", "hermes", "<tool_call>"),
    # the official Llama 3.2 template: JSON calls opening the answer
    _case(
        "meta-llama-Llama-3.2-3B-Instruct.jinja",
        "llama3.2",
        "llama3_json",
        "{",
        favour={"{": 8, '{"': 8},  # as Llama 3.1's: the call must open the answer
    ),
    _case("MiMo-VL.jinja", "mimo-vl", "hermes", "<tool_call>"),
    _case("Reka-Edge.jinja", "reka-edge", "hermes", "<tool_call>"),
    _case("inclusionai-ling-3.0-flash.jinja", "ling-3", "glm45", "<tool_call>"),
    _case("poolside-Laguna-XS.2.jinja", "laguna", "glm45", "<tool_call>"),
    _case(
        "mistralai-Ministral-3-14B-Reasoning-2512.jinja",
        "ministral-3",
        "mistral",
        "[TOOL_CALLS]",
    ),
    _case(
        "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
        "r1-distill",
        "deepseek_v3",
        "<｜tool▁calls▁begin｜>",
    ),
    _case(
        "fireworks-ai-llama-3-firefunction-v2.jinja",
        "firefunction-v2",
        "phi4_mini_json",
        "functools",
        added_tokens=("functools",),
    ),
]
