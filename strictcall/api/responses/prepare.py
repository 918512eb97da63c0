"""From a POST /v1/responses body to a checked `Turn`: history, tools, tool_choice, limits.

Everything a client can get wrong is refused here, before anything runs or streams, with a 4xx
naming the field.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from strictcall.api.errors import APIError
from strictcall.api.pipeline import Mode, Sampling, check_model, check_tool
from strictcall.api.responses.items import input_messages, new_id
from strictcall.api.responses.schemas import (
    CodeInterpreterTool,
    FunctionTool,
    McpTool,
    ResponsesRequest,
    WebSearchTool,
)
from strictcall.api.state import AppState
from strictcall.formats import ToolSpec
from strictcall.tools.base import ServerTool
from strictcall.tools.hub import ToolSession
from strictcall.tools.netguard import BlockedAddress, check_url

_INCLUDE = {
    "code_interpreter_call.outputs",
    "web_search_call.action.sources",
    "web_search_call.results",
    "reasoning.encrypted_content",  # reasoning is returned in plain text: nothing to add
    "message.output_text.logprobs",
}
_WEB = {
    "web_search",
    "web_search_preview",
    "web_search_2025_08_26",
    "web_search_preview_2025_03_11",
}


@dataclass
class Turn:
    req: ResponsesRequest
    response_id: str
    created_at: int
    history: list[dict[str, Any]]  # the stored conversation this request continues
    new_messages: list[dict[str, Any]]
    functions: list[dict[str, Any]] = field(default_factory=list)  # chat-shaped, rendered
    specs: dict[str, ToolSpec] = field(default_factory=dict)  # every callable tool
    server_tools: dict[str, ServerTool] = field(default_factory=dict)
    mcp_labels: list[str] = field(default_factory=list)
    session: ToolSession | None = None
    mode: Mode = "none"  # tool_choice for the first generation
    named: str | None = None
    first_subset: set[str] | None = None  # tools the first generation may call (None: all)
    allowed: set[str] | None = None  # tools any generation may call (allowed_tools)
    parallel: bool = True
    response_format: dict[str, Any] | None = None  # text.format in chat's shape
    sampling: Sampling = field(default_factory=Sampling)
    template_kwargs: dict[str, Any] = field(default_factory=dict)
    max_tool_calls: int = 20


def _refuse_unsupported(req: ResponsesRequest) -> None:
    if req.background:
        raise APIError("background responses are not supported", param="background")
    for name in ("conversation", "prompt"):
        if getattr(req, name) is not None:
            raise APIError(
                f"'{name}' is not supported; continue a conversation with previous_response_id",
                param=name,
            )
    if req.top_logprobs:
        raise APIError("top_logprobs is not supported on /v1/responses", param="top_logprobs")
    if req.truncation == "auto":
        raise APIError(
            "truncation 'auto' is not supported: this server never drops input",
            param="truncation",
        )
    for i, name in enumerate(req.include or []):
        if name not in _INCLUDE:
            raise APIError(f"include value {name!r} is not supported", param=f"include[{i}]")
    if req.reasoning and (req.reasoning.summary or req.reasoning.generate_summary) not in (
        None,
        "auto",
    ):
        raise APIError(
            "reasoning summaries are not produced: the reasoning itself is returned as "
            "reasoning_text; use summary 'auto' or none",
            param="reasoning.summary",
        )
    if req.text is not None and req.text.verbosity not in (None, "medium"):
        raise APIError("text.verbosity is not supported", param="text.verbosity")
    if req.service_tier not in (None, "auto", "default"):
        raise APIError(f"service_tier {req.service_tier!r} is not supported", param="service_tier")
    if req.stream_options is not None and not req.stream:
        raise APIError("stream_options is only allowed when stream is true", param="stream_options")


async def prepare(req: ResponsesRequest, state: AppState) -> Turn:
    _refuse_unsupported(req)
    check_model(req.model, state)
    history: list[dict[str, Any]] = []
    if req.previous_response_id is not None:
        stored = await asyncio.to_thread(_store(state).get, req.previous_response_id)
        if stored is None:
            raise APIError(
                f"Previous response with id '{req.previous_response_id}' not found.",
                status=404,
                param="previous_response_id",
                code="previous_response_not_found",
            )
        history = stored.conversation
    new = input_messages(req.input)
    if not history and not new:
        raise APIError("input is required (a string or a list of items)", param="input")
    turn = Turn(req, new_id("resp"), int(time.time()), history, new)
    if state.tools is not None:
        turn.max_tool_calls = state.tools.config.max_tool_calls
    if req.max_tool_calls is not None and req.max_tool_calls > turn.max_tool_calls:
        raise APIError(
            f"max_tool_calls may be at most {turn.max_tool_calls} on this server",
            param="max_tool_calls",
        )
    try:
        await _tools(turn, state)
        _tool_choice(turn)
    except BaseException:
        if turn.session is not None:
            await turn.session.aclose()
        raise
    turn.parallel = req.parallel_tool_calls is not False
    turn.response_format = _response_format(req)
    turn.sampling = Sampling(
        temperature=req.temperature,
        top_p=req.top_p,
        seed=req.seed,
        clamp_max_tokens=True,  # max_output_tokens bounds the whole response
    )
    return turn


def _store(state: AppState):
    if state.store is None:
        raise APIError("this server does not store responses", param="store")
    return state.store


def _response_format(req: ResponsesRequest) -> dict[str, Any] | None:
    """text.format in chat's response_format shape (the pipeline checks it)."""
    fmt = req.text.format if req.text else None
    if fmt is None or fmt.type == "text":
        return None
    spec = {"name": fmt.name, "schema": fmt.schema_, "strict": fmt.strict}
    return {"type": fmt.type, "json_schema": spec}


# ---- tools ---------------------------------------------------------------------------------
async def _tools(turn: Turn, state: AppState) -> None:
    hub = state.tools
    owners: dict[str, str] = {}  # tool name -> the request field that brought it

    def add(name: str, spec: ToolSpec, where: str) -> None:
        if name in owners:
            raise APIError(
                f"Duplicate tool name {name!r} (from {owners[name]} and {where}); restrict "
                "one of them with allowed_tools",
                param=where,
                code="duplicate_tool_name",
            )
        owners[name] = where
        turn.specs[name] = spec

    for i, tool in enumerate(turn.req.tools or []):
        where = f"tools[{i}]"
        if isinstance(tool, FunctionTool):
            add(tool.name, check_tool(tool.name, tool.parameters, where, state), where)
            # rendered as the client wrote it, like a chat completion's tools
            fn = tool.model_dump(exclude_none=True, exclude={"type", "strict"})
            turn.functions.append({"type": "function", "function": fn})
            continue
        if hub is None or (not isinstance(tool, McpTool) and not hub.config.demo):
            kind = "MCP" if isinstance(tool, McpTool) else tool.type
            raise APIError(
                f"{kind} tools are not enabled on this server; start it with --tool-server "
                "(demo for code_interpreter and web_search, host:port for MCP servers)",
                param=f"{where}.type",
                code="tool_not_enabled",
            )
        if turn.session is None:
            turn.session = hub.session()
        if isinstance(tool, McpTool):
            tools = await _mcp_tools(turn, tool, where, state)
        elif isinstance(tool, CodeInterpreterTool):
            container = tool.container
            if container not in (None, "auto") and not (
                isinstance(container, dict) and container.get("type") == "auto"
            ):
                raise APIError(
                    "only an automatic container is supported ({'type': 'auto'})",
                    param=f"{where}.container",
                )
            tools = hub.builtin("python")
        else:
            assert isinstance(tool, WebSearchTool)
            for name in ("user_location", "filters"):
                if getattr(tool, name) is not None:
                    raise APIError(f"web search {name} is not supported", param=f"{where}.{name}")
            if tool.search_context_size not in (None, "medium"):
                raise APIError(
                    "search_context_size is not supported",
                    param=f"{where}.search_context_size",
                )
            tools = hub.builtin("browser")
        for t in tools:
            add(t.name, t.spec(), where)
            turn.server_tools[t.name] = t


async def _mcp_tools(turn: Turn, tool: McpTool, where: str, state: AppState):
    hub, session = state.tools, turn.session
    assert hub is not None and session is not None
    if tool.connector_id is not None:
        raise APIError("connectors are not supported", param=f"{where}.connector_id")
    approval = tool.require_approval
    if approval not in (None, "never") and not (
        isinstance(approval, dict) and "always" not in approval
    ):
        raise APIError(
            "approval requests are not supported: this server calls MCP tools without asking "
            "(use require_approval 'never')",
            param=f"{where}.require_approval",
        )
    label = tool.server_label
    if label in turn.mcp_labels:
        raise APIError(f"server_label {label!r} is given twice", param=f"{where}.server_label")
    conn = hub.connections.get(label)
    if tool.server_url is not None and (conn is None or conn.endpoint.url != tool.server_url):
        conn = await _request_server(tool, where, state, session)
    elif conn is None:
        configured = ", ".join(sorted(hub.connections)) or "none"
        raise APIError(
            f"no MCP server labelled {label!r} is configured (configured: {configured})",
            param=f"{where}.server_label",
            code="unknown_mcp_server",
        )
    turn.mcp_labels.append(label)
    allowed = tool.allowed_tools
    if allowed is not None and not isinstance(allowed, list):
        if allowed.read_only:
            raise APIError(
                "allowed_tools.read_only is not supported",
                param=f"{where}.allowed_tools.read_only",
            )
        allowed = allowed.tool_names
    if allowed is None:
        return list(conn.tools.values())
    for name in allowed:
        if name in conn.refused:
            raise APIError(
                f"MCP tool {name!r} of {label!r} is not offered: {conn.refused[name]}",
                param=f"{where}.allowed_tools",
                code="tool_schema_unsupported",
            )
        if conn.up and name not in conn.tools:
            raise APIError(
                f"MCP server {label!r} has no tool {name!r}",
                param=f"{where}.allowed_tools",
            )
    return [conn.tools[n] for n in allowed if n in conn.tools]


async def _request_server(tool: McpTool, where: str, state: AppState, session: ToolSession):
    config = state.tools.config  # type: ignore[union-attr]
    url = tool.server_url or ""
    if not config.allow_request_mcp_urls:
        raise APIError(
            "this server only uses the MCP servers it was started with; a request cannot add "
            "one by server_url (the operator can allow it with --allow-request-mcp-urls)",
            param=f"{where}.server_url",
            code="mcp_url_not_allowed",
        )
    try:
        await check_url(url, allow_private=config.allow_private_mcp_urls)
    except BlockedAddress as exc:
        raise APIError(str(exc), param=f"{where}.server_url", code="mcp_url_not_allowed") from None
    headers = dict(tool.headers or {})
    if tool.authorization:
        headers["Authorization"] = f"Bearer {tool.authorization}"
    conn = await session.connect(tool.server_label, url, headers)
    if not conn.up:
        raise APIError(
            f"Error retrieving tool list from MCP server {tool.server_label!r}: {conn.error}",
            status=424,
            param=f"{where}.server_url",
            code="mcp_unavailable",
        )
    return conn


# ---- tool_choice ---------------------------------------------------------------------------
def _tool_choice(turn: Turn) -> None:
    choice = turn.req.tool_choice
    names = set(turn.specs)
    if choice is None or choice == "auto":
        turn.mode = "auto" if names else "none"
        return
    if isinstance(choice, str):
        if choice == "required" and not names:
            raise APIError("tool_choice 'required' needs at least one tool", param="tool_choice")
        turn.mode = choice
        return
    kind = choice.get("type")
    if kind == "allowed_tools":
        mode = choice.get("mode", "auto")
        if mode not in ("auto", "required"):
            raise APIError("tool_choice.mode must be auto or required", param="tool_choice.mode")
        entries = choice.get("tools")
        if not isinstance(entries, list) or not entries:
            raise APIError("tool_choice.tools must list tools", param="tool_choice.tools")
        allowed: set[str] = set()
        for i, entry in enumerate(entries):
            allowed |= _choice_tools(turn, entry, f"tool_choice.tools[{i}]")
        turn.mode, turn.allowed = mode, allowed
        return
    picked = _choice_tools(turn, choice, "tool_choice")
    if kind in ("function", "code_interpreter") or (kind == "mcp" and choice.get("name")):
        turn.mode, turn.named = "named", next(iter(picked))
    else:
        turn.mode, turn.first_subset = "required", picked


def _choice_tools(turn: Turn, entry: Any, where: str) -> set[str]:
    """The tool names one tool_choice entry stands for."""
    kind = entry.get("type") if isinstance(entry, dict) else None
    if kind == "function":
        name = entry.get("name")
        if name not in turn.specs:
            raise APIError(
                f"{where} names {name!r}, which is not among the tools", param=f"{where}.name"
            )
        return {name}
    if kind == "mcp":
        label, name = entry.get("server_label"), entry.get("name")
        tools = {n for n, t in turn.server_tools.items() if t.server_label == label}
        if label not in turn.mcp_labels:
            raise APIError(
                f"{where}: no mcp tool has server_label {label!r}", param=f"{where}.server_label"
            )
        if name is not None:
            if name not in tools:
                raise APIError(f"{where}: {label!r} offers no tool {name!r}", param=f"{where}.name")
            return {name}
        if not tools:
            raise APIError(f"{where}: MCP server {label!r} offers no tools now", param=where)
        return tools
    if kind == "code_interpreter" or kind in _WEB:
        namespace = "python" if kind == "code_interpreter" else "browser"
        tools = {n for n, t in turn.server_tools.items() if t.namespace == namespace}
        if not tools:
            raise APIError(
                f"{where}: the {kind} tool is not among the tools", param=f"{where}.type"
            )
        return tools
    raise APIError(f"{where}: unsupported tool_choice type {kind!r}", param=f"{where}.type")
