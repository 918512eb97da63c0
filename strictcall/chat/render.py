"""Render a conversation and its tools with the model's chat template."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2

from strictcall.chat.harmony import render_harmony
from strictcall.chat.tokenizer import ModelTokenizer
from strictcall.formats.syntax import Reasoning

# Renderers that replace the chat template for a family (named by its Format's `renderer`).
RENDERERS: dict[str, Callable[..., str]] = {"harmony": render_harmony}


class TemplateError(ValueError):
    """The template refused the conversation (it raised, or it cannot render it)."""


@dataclass
class Prompt:
    text: str
    ids: list[int]
    in_reasoning: bool  # the prompt ends inside an opened reasoning block


def template_messages(
    messages: list[dict[str, Any]], call_id: Callable[[str], str] | None = None
) -> list[dict[str, Any]]:
    """OpenAI messages in the shape chat templates expect.

    Templates iterate over tool-call arguments as a mapping (`arguments | tojson`, `items()`),
    while OpenAI sends a JSON string: decode it. Text content parts are joined. `call_id`
    rewrites call ids (on calls and on tool results alike) for families whose templates
    accept only one shape of id (Mistral: 9 alphanumerics).
    """
    out = []
    for message in messages:
        m = dict(message)
        if call_id is not None and isinstance(m.get("tool_call_id"), str):
            m["tool_call_id"] = call_id(m["tool_call_id"])
        content = m.get("content")
        if isinstance(content, list):
            m["content"] = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if m.get("tool_calls"):
            calls = []
            for call in m["tool_calls"]:
                call = dict(call)
                if call_id is not None and isinstance(call.get("id"), str):
                    call["id"] = call_id(call["id"])
                fn = dict(call.get("function") or {})
                args = fn.get("arguments")
                if isinstance(args, str):
                    with contextlib.suppress(ValueError):  # else keep what the client sent
                        fn["arguments"] = json.loads(args) if args.strip() else {}
                call["function"] = fn
                calls.append(call)
            m["tool_calls"] = calls
        out.append(m)
    return out


def render(
    tokenizer: ModelTokenizer,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    *,
    reasoning: Reasoning | None = None,
    template_kwargs: dict[str, Any] | None = None,
    call_id: Callable[[str], str] | None = None,
    renderer: str | None = None,
) -> Prompt:
    """The prompt for a conversation: by the model's chat template, or by the family's own
    renderer (`renderer`, a key of RENDERERS) where it has one."""
    kwargs = dict(template_kwargs or {})
    if renderer is not None:
        try:
            text = RENDERERS[renderer](template_messages(messages), tools or None, **kwargs)
        except (ValueError, TypeError) as exc:
            raise TemplateError(f"cannot render these messages: {exc}") from None
        return Prompt(text, tokenizer.encode(text), in_reasoning=False)
    try:
        text = tokenizer.hf.apply_chat_template(
            template_messages(messages, call_id),
            tools=tools or None,
            chat_template=tokenizer.chat_template,
            add_generation_prompt=True,
            tokenize=False,
            **kwargs,
        )
    except (
        jinja2.TemplateError,
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        IndexError,
    ) as exc:
        raise TemplateError(f"the chat template cannot render these messages: {exc}") from None
    if not isinstance(text, str):
        raise TemplateError("the chat template did not render text")
    in_reasoning = False
    if reasoning is not None:
        opened, closed = text.rfind(reasoning.start), text.rfind(reasoning.end)
        in_reasoning = (
            opened >= 0 and opened > closed and not text[opened:].strip().endswith(reasoning.end)
        )
    return Prompt(text, tokenizer.encode(text), in_reasoning)


def template_has_reasoning(template: str, reasoning: Reasoning | None) -> bool:
    return reasoning is not None and reasoning.start in template and reasoning.end in template
