"""Request-wide checks made before a request is planned: counts, text, template arguments.

Each refusal is a 400 naming the field (DESIGN idea 5), for every API: the limits come from the
CLI (`--max-tools`, `--max-messages`); the body size limit is middleware (413, before parsing).
"""

from __future__ import annotations

import re
from typing import Any

from strictcall.api.errors import APIError
from strictcall.api.pipeline.request import PipelineRequest
from strictcall.api.state import ServerConfig

# apply_chat_template's own arguments: chat_template_kwargs may not override them
RESERVED_TEMPLATE_KWARGS = frozenset(
    {
        "conversation",
        "messages",
        "tools",
        "documents",
        "chat_template",
        "add_generation_prompt",
        "continue_final_message",
        "tokenize",
        "padding",
        "truncation",
        "max_length",
        "return_tensors",
        "return_dict",
        "return_assistant_tokens_mask",
        "tokenizer_kwargs",
    }
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_limits(req: PipelineRequest, config: ServerConfig) -> None:
    check_text(req.body)
    params = req.params
    if len(req.messages) > config.max_messages:
        raise APIError(
            f"Too many messages: {len(req.messages)}; this server accepts at most "
            f"{config.max_messages} (--max-messages).",
            param=params.messages,
            code="too_many_messages",
        )
    if len(req.tools) > config.max_tools:
        raise APIError(
            f"Too many tools: {len(req.tools)}; this server accepts at most {config.max_tools} "
            "(--max-tools).",
            param=params.tools,
            code="too_many_tools",
        )
    for key in req.template_kwargs:
        if key in RESERVED_TEMPLATE_KWARGS:
            raise APIError(
                f"{params.template_kwargs} may not set {key!r}: the server sets it",
                param=f"{params.template_kwargs}.{key}",
            )


def check_text(body: Any) -> None:
    """JSON can carry a lone `\\ud800`; no tokenizer or grammar can take it: refuse by name."""
    where = _find_surrogate(body, "")
    if where is not None:
        raise APIError(
            f"{where or 'the request'} contains an unpaired UTF-16 surrogate, which is not "
            "valid Unicode",
            param=where or None,
            code="invalid_unicode",
        )


def _find_surrogate(value: Any, path: str) -> str | None:
    """The path of the first string (or key) holding an unpaired UTF-16 surrogate."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return where
        elif isinstance(item, dict):
            for key, sub in item.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    return where
                stack.append((sub, f"{where}.{key}" if where else str(key)))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}[{i}]") for i, sub in enumerate(item))
    return None
