"""Responses items <-> chat messages, and the output items this server produces.

The chat pipeline renders chat messages; a Responses conversation is a list of items. Input
items become messages here (each refusal names `input[i]...`); output items are built here.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from strictcall.api.errors import APIError

_TEXT_PARTS = {"input_text", "output_text", "text", "summary_text", "reasoning_text"}
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise APIError(f"{where} must be a string or a list of content parts", param=where)
    out = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
            out.append(part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            out.append(part["refusal"])
        else:
            raise APIError(
                f"{where}[{j}]: only text content parts are supported (got {kind!r})",
                param=f"{where}[{j}]",
            )
    return "".join(out)


def _field(item: dict, key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise APIError(f"{where}.{key} is required and must be a string", param=f"{where}.{key}")
    return value


def _call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


class _Conversation:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.reasoning: list[str] = []

    def assistant(self, content: str | None = None) -> dict[str, Any]:
        """The assistant message to add to: the last one, unless something followed it."""
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "assistant" or (content is not None and last["content"]):
            last = {"role": "assistant", "content": None}
            self.messages.append(last)
        if self.reasoning:
            last["reasoning_content"] = "".join(self.reasoning)
            self.reasoning = []
        return last

    def call(self, call_id: str, name: str, arguments: Any) -> None:
        self.assistant().setdefault("tool_calls", []).append(_call(call_id, name, arguments))

    def result(self, call_id: str, name: str | None, output: str) -> None:
        message = {"role": "tool", "tool_call_id": call_id, "content": output}
        if name:
            message["name"] = name
        self.messages.append(message)


def input_messages(value: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The request's `input` as chat messages."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    conv = _Conversation()
    for i, item in enumerate(value):
        _add_item(conv, item, f"input[{i}]")
    return conv.messages


def _add_item(conv: _Conversation, item: Any, where: str) -> None:
    if not isinstance(item, dict):
        raise APIError(f"{where} must be an object", param=where)
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role not in _ROLES:
            raise APIError(
                f"{where}.role must be one of {', '.join(_ROLES)}", param=f"{where}.role"
            )
        text = _text(item.get("content"), f"{where}.content")
        if role == "assistant":
            message = conv.assistant(text)
            message["content"] = (message["content"] or "") + text
        else:
            conv.messages.append({"role": _ROLES[role], "content": text})
    elif kind == "function_call":
        call_id = _field(item, "call_id", where)
        conv.call(call_id, _field(item, "name", where), item.get("arguments", "{}"))
    elif kind == "function_call_output":
        output = item.get("output")
        text = output if isinstance(output, str) else _text(output, f"{where}.output")
        conv.result(_field(item, "call_id", where), None, text)
    elif kind == "reasoning":
        parts = item.get("content") or item.get("summary") or []
        conv.reasoning.append(_text(parts, f"{where}.content"))
    elif kind == "mcp_call":
        call_id = item.get("id") or new_id("mcp")
        conv.call(call_id, _field(item, "name", where), item.get("arguments", "{}"))
        error = item.get("error")
        output = item.get("output") or (f"Error: {error}" if error else "")
        conv.result(call_id, item["name"], output if isinstance(output, str) else str(output))
    elif kind == "code_interpreter_call":
        call_id = item.get("id") or new_id("ci")
        conv.call(call_id, "python", {"code": item.get("code") or ""})
        logs = [o.get("logs", "") for o in item.get("outputs") or [] if isinstance(o, dict)]
        conv.result(call_id, "python", "".join(str(x) for x in logs) or "[no output]")
    elif kind == "web_search_call":
        call_id = item.get("id") or new_id("ws")
        name, args = _browser_call(item.get("action") or {})
        conv.call(call_id, name, args)
        conv.result(call_id, name, "[the result of this call was not kept]")
    elif kind in ("mcp_list_tools", "item_reference"):
        if kind == "item_reference":
            raise APIError(
                f"{where}: item_reference is not supported; continue a stored conversation "
                "with previous_response_id",
                param=f"{where}.type",
            )
        # a listing carries nothing the model reads: it is informational only
    else:
        raise APIError(f"{where}.type {kind!r} is not supported", param=f"{where}.type")


def _browser_call(action: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = action.get("type")
    if kind == "open_page":
        return "browser.open", {"id": action.get("url") or ""}
    if kind in ("find", "find_in_page"):
        return "browser.find", {"pattern": action.get("pattern") or ""}
    return "browser.search", {"query": action.get("query") or ""}


# ---- output items --------------------------------------------------------------------------
def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def reasoning_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}],
        "status": status,
    }
