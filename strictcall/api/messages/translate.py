"""A Messages body -> a PipelineRequest: Anthropic's content blocks become chat-shaped turns.

Only what is particular to the Messages wire shape is checked here (roles, content blocks,
tool_use ids answered by tool_result); every generation check (tools, schemas, tool_choice,
limits, stops, context) is the pipeline's, named in Messages' own fields (`PARAMS`).
"""

from __future__ import annotations

import json
from typing import Any

from strictcall.api.errors import APIError
from strictcall.api.messages.schemas import (
    CountTokensRequest,
    MessagesRequest,
    TextBlock,
    ThinkingDisabled,
    ThinkingEnabled,
    Tool,
    ToolChoiceAny,
    ToolChoiceAuto,
    ToolChoiceNone,
    ToolChoiceTool,
)
from strictcall.api.pipeline import Mode, Params, PipelineRequest, Sampling, ToolDef

PARAMS = Params(
    named_tool="tool_choice.name",
    required="any",
    template_kwargs="thinking",
    stop="stop_sequences",
    tool_schema="input_schema",
)
# what each block type may carry (cache_control is a hint this server has no cache for)
_BLOCK_FIELDS = {
    "text": {"type", "text", "cache_control", "citations"},
    "tool_use": {"type", "id", "name", "input", "cache_control", "caller"},
    "tool_result": {"type", "tool_use_id", "content", "is_error", "cache_control"},
    "thinking": {"type", "thinking", "signature"},
}
_UNSUPPORTED = {
    "image": "images are not supported: this server serves text models",
    "document": "documents are not supported: send their text as text blocks",
    "redacted_thinking": "redacted_thinking blocks cannot be read here: this server never "
    "writes them; send thinking blocks as they came back",
    "search_result": "search_result blocks are not supported: send text blocks",
    "server_tool_use": "server tools are not supported: declare a custom tool",
    "web_search_tool_result": "server tools are not supported: declare a custom tool",
}


def to_pipeline(req: CountTokensRequest) -> PipelineRequest:
    """The generation `req` asks for (a count_tokens body: the same prompt, nothing sampled)."""
    messages = _system(req.system) + _conversation(req.messages)
    tools = tuple(_tool(t, i) for i, t in enumerate(req.tools or []))
    render = [
        {
            "type": "function",
            "function": {
                "name": t.name,
                **({"description": t.description} if t.description else {}),
                "parameters": t.input_schema,
            },
        }
        for t in req.tools or []
    ]
    mode, named, parallel = _tool_choice(req)
    kwargs: dict[str, Any] = {}
    if isinstance(req.thinking, ThinkingEnabled | ThinkingDisabled):
        # the switch templates of reasoning models read (Qwen3's); others ignore it
        kwargs["enable_thinking"] = isinstance(req.thinking, ThinkingEnabled)
    sampling = Sampling()
    if isinstance(req, MessagesRequest):
        if (
            isinstance(req.thinking, ThinkingEnabled)
            and req.thinking.budget_tokens >= req.max_tokens
        ):
            raise APIError(
                "thinking.budget_tokens must be less than max_tokens",
                param="thinking.budget_tokens",
            )
        sampling = Sampling(
            max_tokens=req.max_tokens,
            clamp_max_tokens=True,  # an upper bound, as Anthropic's max_tokens is
            temperature=req.temperature,
            top_p=req.top_p,
            top_k=req.top_k,
            stop=list(req.stop_sequences or []),
        )
    return PipelineRequest(
        messages=messages,
        model=req.model,
        tools=tools,
        render_tools=render or None,
        tool_choice=mode,
        named=named,
        parallel_tool_calls=parallel,
        template_kwargs=kwargs,
        sampling=sampling,
        body=req.model_dump(by_alias=True, exclude_none=True),
        id_prefix="msg",
        params=PARAMS,
    )


def _tool(tool: Tool, i: int) -> ToolDef:
    if tool.type not in (None, "custom"):
        raise APIError(
            f"tools[{i}]: server tools ({tool.type}) are not supported here; declare a custom "
            "tool with an input_schema",
            param=f"tools[{i}].type",
        )
    for key in tool.model_extra or {}:
        raise APIError(
            f"tools[{i}].{key}: Extra inputs are not permitted", param=f"tools[{i}].{key}"
        )
    if tool.input_schema is None:
        raise APIError(f"tools[{i}].input_schema: Field required", param=f"tools[{i}].input_schema")
    return ToolDef(tool.name, tool.input_schema, f"tools[{i}]")


def _tool_choice(req: CountTokensRequest) -> tuple[Mode | None, str | None, bool]:
    choice = req.tool_choice
    if choice is None:
        return None, None, True
    if isinstance(choice, ToolChoiceNone):
        return "none", None, True
    parallel = not choice.disable_parallel_tool_use
    if isinstance(choice, ToolChoiceAuto):
        return "auto", None, parallel
    if isinstance(choice, ToolChoiceAny):
        return "required", None, parallel
    assert isinstance(choice, ToolChoiceTool)
    return "named", choice.name, parallel


def _system(system: str | list[TextBlock] | None) -> list[dict[str, Any]]:
    if system is None:
        return []
    text = system if isinstance(system, str) else "\n\n".join(b.text for b in system)
    return [{"role": "system", "content": text}]


def _conversation(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pending: dict[str, str] = {}  # tool_use ids not yet answered -> where they were sent
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise APIError(f"{where} must be an object", param=where)
        for key in m:
            if key not in ("role", "content"):
                raise APIError(
                    f"{where}.{key}: Extra inputs are not permitted", param=f"{where}.{key}"
                )
        role = m.get("role")
        if role not in ("user", "assistant"):
            hint = (
                " (put a system prompt in the top-level `system` field)" if role == "system" else ""
            )
            raise APIError(
                f"{where}.role must be 'user' or 'assistant'{hint}", param=f"{where}.role"
            )
        blocks = _blocks(m.get("content"), where)
        if role == "assistant":
            out.append(_assistant(blocks, where, pending))
        else:
            out += _user(blocks, where, pending)
    if out and messages[-1].get("role") == "assistant":
        raise APIError(
            "the last message must be from the user: prefilling the assistant's reply is not "
            "supported",
            param=f"messages[{len(messages) - 1}]",
        )
    if pending:
        call_id, where = next(iter(pending.items()))
        raise APIError(
            f"tool_use ids were found without tool_result blocks immediately after: {call_id} "
            f"(sent in {where}); each tool_use must be answered in the next user message",
            param=where,
        )
    return out


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise APIError(
            f"{where}.content must be a string or a list of content blocks",
            param=f"{where}.content",
        )
    for j, block in enumerate(content):
        at = f"{where}.content[{j}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind in _UNSUPPORTED:
            raise APIError(f"{at}: {_UNSUPPORTED[kind]}", param=f"{at}.type")
        if kind not in _BLOCK_FIELDS:
            raise APIError(
                f"{at}.type must be one of {', '.join(_BLOCK_FIELDS)}", param=f"{at}.type"
            )
        for key in block:
            if key not in _BLOCK_FIELDS[kind]:
                raise APIError(f"{at}.{key}: Extra inputs are not permitted", param=f"{at}.{key}")
    return content


def _string(block: dict[str, Any], key: str, at: str) -> str:
    value = block.get(key)
    if not isinstance(value, str):
        raise APIError(f"{at}.{key}: a string is required", param=f"{at}.{key}")
    return value


def _assistant(blocks: list[dict[str, Any]], where: str, pending: dict[str, str]) -> dict:
    if pending:
        call_id = next(iter(pending))
        raise APIError(
            f"tool_use id {call_id} has no tool_result block in the user message after it",
            param=where,
        )
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        at = f"{where}.content[{j}]"
        kind = block["type"]
        if kind == "text":
            text.append(_string(block, "text", at))
        elif kind == "thinking":
            reasoning.append(_string(block, "thinking", at))
        elif kind == "tool_use":
            calls.append(_tool_use(block, at, pending))
        else:
            raise APIError(f"{at}: {kind} blocks belong in user messages", param=f"{at}.type")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_use(block: dict[str, Any], at: str, pending: dict[str, str]) -> dict[str, Any]:
    """A tool_use block as a chat tool call; its id now awaits a tool_result."""
    call_id, name = _string(block, "id", at), _string(block, "name", at)
    arguments = block.get("input")
    if not isinstance(arguments, dict):
        raise APIError(f"{at}.input must be an object", param=f"{at}.input")
    if call_id in pending:
        raise APIError(f"{at}.id: tool_use ids must be unique", param=f"{at}.id")
    pending[call_id] = at
    function = {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}
    return {"id": call_id, "type": "function", "function": function}


def _user(blocks: list[dict[str, Any]], where: str, pending: dict[str, str]) -> list[dict]:
    """Tool results first (one tool message each, in order), then the user's text."""
    out: list[dict[str, Any]] = []
    text: list[str] = []
    for j, block in enumerate(blocks):
        at = f"{where}.content[{j}]"
        kind = block["type"]
        if kind == "text":
            text.append(_string(block, "text", at))
        elif kind == "tool_result":
            call_id = _string(block, "tool_use_id", at)
            if pending.pop(call_id, None) is None:
                raise APIError(
                    f"{at}.tool_use_id: unexpected tool_use_id {call_id!r}: no tool_use block "
                    "with that id in the previous message is awaiting its result",
                    param=f"{at}.tool_use_id",
                )
            output = _result_text(block.get("content", ""), at)
            if block.get("is_error"):
                output = f"Error: {output}"
            out.append({"role": "tool", "tool_call_id": call_id, "content": output})
        else:
            raise APIError(f"{at}: {kind} blocks belong in assistant messages", param=f"{at}.type")
    if pending:
        call_id, sent = next(iter(pending.items()))
        raise APIError(
            f"tool_use id {call_id} (in {sent}) has no tool_result block in {where}",
            param=where,
        )
    if text or not out:
        out.append({"role": "user", "content": "\n\n".join(text)})
    return out


def _result_text(content: Any, at: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise APIError(
            f"{at}.content must be a string or a list of text blocks", param=f"{at}.content"
        )
    parts = []
    for k, block in enumerate(content):
        if (
            not isinstance(block, dict)
            or block.get("type") != "text"
            or not isinstance(block.get("text"), str)
        ):
            raise APIError(
                f"{at}.content[{k}]: only text blocks are supported in a tool_result",
                param=f"{at}.content[{k}]",
            )
        parts.append(block["text"])
    return "\n".join(parts)
