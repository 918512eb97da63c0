"""One generation's parser deltas as Responses output items and typed stream events.

`Items` owns the output list and the event sequence; `Output` turns the deltas of one
generation into items: reasoning, a message, and one item per call, whose type says who runs
it (function_call: the client; mcp_call, code_interpreter_call, web_search_call: the server).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from strictcall.api.pipeline import Step
from strictcall.api.responses.items import message_item, new_id, reasoning_item
from strictcall.tools.base import ServerTool, ToolResult
from strictcall.tools.python import code_of

_PREFIX = {"function": "fc", "mcp": "mcp", "python": "ci", "browser": "ws"}
_ACTION = {"browser.search": "search", "browser.open": "open_page", "browser.find": "find_in_page"}


@dataclass(eq=False)
class Call:
    index: int  # in the output list
    call_id: str
    name: str
    tool: ServerTool | None  # None: the client's function
    arguments: str = ""
    withdrawn: bool = False


class Items:
    def __init__(self) -> None:
        self.output: list[dict[str, Any]] = []
        self.sequence = 0

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def add(self, item: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.output.append(item)
        index = len(self.output) - 1
        return index, self.event(
            "response.output_item.added", output_index=index, item=copy.deepcopy(item)
        )

    def done(self, index: int) -> dict[str, Any]:
        item = copy.deepcopy(self.output[index])
        return self.event("response.output_item.done", output_index=index, item=item)

    def part(self, kind: str, index: int, part: dict[str, Any]) -> dict[str, Any]:
        return self.event(
            kind,
            item_id=self.output[index]["id"],
            output_index=index,
            content_index=0,
            part=copy.deepcopy(part),
        )

    def about(self, kind: str, index: int, **fields: Any) -> dict[str, Any]:
        return self.event(kind, item_id=self.output[index]["id"], output_index=index, **fields)

    # ---- server-side calls -----------------------------------------------------------------
    def executing(self, call: Call) -> list[dict[str, Any]]:
        kind = call.tool.kind if call.tool else "function"
        if kind == "python":
            return [self.about("response.code_interpreter_call.interpreting", call.index)]
        if kind == "browser":
            return [self.about("response.web_search_call.searching", call.index)]
        return []

    def executed(
        self, call: Call, result: ToolResult, container: str, ran: bool
    ) -> list[dict[str, Any]]:
        item = self.output[call.index]
        kind = item["type"]
        failed = result.error is not None
        events = []
        if kind == "mcp_call":
            item["output"] = None if failed else result.text
            item["error"] = result.error
            item["status"] = "failed" if failed else "completed"
            if not ran:
                item["status"] = "incomplete"
            event = "response.mcp_call.failed" if failed else "response.mcp_call.completed"
            events.append(self.about(event, call.index))
        elif kind == "code_interpreter_call":
            item["container_id"] = container
            logs = result.details.get("logs", result.text)
            item["outputs"] = [{"type": "logs", "logs": logs}] if ran else []
            item["status"] = "completed" if ran else "incomplete"
            events.append(self.about("response.code_interpreter_call.completed", call.index))
        else:  # web_search_call
            action = result.details.get("action")
            if action:
                item["action"] = action
            item["status"] = "failed" if failed else "completed"
            if not ran:
                item["status"] = "incomplete"
            events.append(self.about("response.web_search_call.completed", call.index))
        events.append(self.done(call.index))
        return events

    def list_tools(
        self, label: str, tools: list[dict[str, Any]], error: str | None
    ) -> list[dict[str, Any]]:
        item: dict[str, Any] = {
            "id": new_id("mcpl"),
            "type": "mcp_list_tools",
            "server_label": label,
            "tools": [],
        }
        index, added = self.add(item)
        events = [added, self.about("response.mcp_list_tools.in_progress", index)]
        item["tools"] = copy.deepcopy(tools)
        if error:
            item["error"] = error
        kind = "failed" if error else "completed"
        events += [self.about(f"response.mcp_list_tools.{kind}", index), self.done(index)]
        return events


class Output:
    """Deltas of one generation -> items and events."""

    def __init__(self, items: Items, server_tools: dict[str, ServerTool]):
        self.items = items
        self.server_tools = server_tools
        self.text = ""
        self.reasoning = ""
        self.calls: list[Call] = []
        self._by_index: dict[int, Call] = {}
        self._message: int | None = None  # output index of the open message item
        self._thought: int | None = None  # ... of the open reasoning item
        self._reasoning_tokens = 0
        self._tokens = 0  # completion tokens seen so far

    def reasoning_tokens(self, last: Step) -> int:
        return min(self._reasoning_tokens, last.completion_tokens)

    def feed(self, step: Step) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if step.deltas and all(d.reasoning for d in step.deltas):
            self._reasoning_tokens += step.completion_tokens - self._tokens
        self._tokens = step.completion_tokens
        for d in step.deltas:
            if d.withdrawn:
                call = self._by_index.get(d.tool_call_index)  # type: ignore[arg-type]
                if call is not None:
                    call.withdrawn = True
            elif d.tool_call_index is not None:
                events += self._call(d)
            elif d.reasoning:
                events += self._think(d.reasoning)
            elif d.content:
                events += self._say(d.content)
        return events

    def _think(self, text: str) -> list[dict[str, Any]]:
        events = self._close_message()
        if self._thought is None:
            self._thought, added = self.items.add(reasoning_item(new_id("rs"), "", "in_progress"))
            part = {"type": "reasoning_text", "text": ""}
            events += [added, self.items.part("response.content_part.added", self._thought, part)]
        self.reasoning += text
        self.items.output[self._thought]["content"][0]["text"] += text
        events.append(
            self.items.about(
                "response.reasoning_text.delta", self._thought, content_index=0, delta=text
            )
        )
        return events

    def _say(self, text: str) -> list[dict[str, Any]]:
        events = self._close_reasoning()
        if self._message is None:
            self._message, added = self.items.add(message_item(new_id("msg"), "", "in_progress"))
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events += [added, self.items.part("response.content_part.added", self._message, part)]
        self.text += text
        self.items.output[self._message]["content"][0]["text"] += text
        events.append(
            self.items.about(
                "response.output_text.delta",
                self._message,
                content_index=0,
                delta=text,
                logprobs=[],
            )
        )
        return events

    def _call(self, d) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        call = self._by_index.get(d.tool_call_index)
        if call is None:
            if d.name is None:
                return events
            events += self._close_reasoning() + self._close_message()
            tool = self.server_tools.get(d.name)
            kind = tool.kind if tool else "function"
            index, added = self.items.add(_call_item(kind, d.id, d.name, tool))
            call = Call(index, d.id or new_id("call"), d.name, tool)
            self.calls.append(call)
            self._by_index[d.tool_call_index] = call
            events.append(added)
            if kind == "python":
                events.append(self.items.about("response.code_interpreter_call.in_progress", index))
            elif kind == "browser":
                events.append(self.items.about("response.web_search_call.in_progress", index))
            elif kind == "mcp":
                events.append(self.items.about("response.mcp_call.in_progress", index))
        if d.arguments:
            call.arguments += d.arguments
            kind = call.tool.kind if call.tool else "function"
            if kind in ("function", "mcp"):
                self.items.output[call.index]["arguments"] += d.arguments
                name = f"response.{'function_call' if kind == 'function' else 'mcp_call'}"
                events.append(
                    self.items.about(f"{name}_arguments.delta", call.index, delta=d.arguments)
                )
        return events

    def finish(self, reason: str | None) -> list[dict[str, Any]]:
        """The generation ended: close its items (server calls stay open until they ran)."""
        status = "incomplete" if reason == "length" else "completed"
        events = self._close_reasoning(status) + self._close_message(status)
        for call in self.calls:
            item = self.items.output[call.index]
            kind = call.tool.kind if call.tool else "function"
            if call.withdrawn or reason not in ("stop", "tool_calls"):
                item["status"] = "incomplete"
                events.append(self.items.done(call.index))
                call.withdrawn = True
                continue
            if kind == "function":
                item["status"] = "completed"
                events.append(
                    self.items.about(
                        "response.function_call_arguments.done",
                        call.index,
                        arguments=call.arguments,
                    )
                )
                events.append(self.items.done(call.index))
            elif kind == "mcp":
                events.append(
                    self.items.about(
                        "response.mcp_call_arguments.done", call.index, arguments=call.arguments
                    )
                )
            elif kind == "python":
                code = code_of(call.arguments)
                item["code"] = code
                events.append(
                    self.items.about(
                        "response.code_interpreter_call_code.done", call.index, code=code
                    )
                )
            else:
                item["action"] = _action(call.name, call.arguments)
        return events

    def _close_reasoning(self, status: str = "completed") -> list[dict[str, Any]]:
        if self._thought is None:
            return []
        i, self._thought = self._thought, None
        item = self.items.output[i]
        item["status"] = status
        text = item["content"][0]["text"]
        return [
            self.items.about("response.reasoning_text.done", i, content_index=0, text=text),
            self.items.part("response.content_part.done", i, item["content"][0]),
            self.items.done(i),
        ]

    def _close_message(self, status: str = "completed") -> list[dict[str, Any]]:
        if self._message is None:
            return []
        i, self._message = self._message, None
        item = self.items.output[i]
        item["status"] = status
        text = item["content"][0]["text"]
        return [
            self.items.about(
                "response.output_text.done", i, content_index=0, text=text, logprobs=[]
            ),
            self.items.part("response.content_part.done", i, item["content"][0]),
            self.items.done(i),
        ]


def _call_item(kind: str, call_id: str | None, name: str, tool: ServerTool | None) -> dict:
    item_id = new_id(_PREFIX[kind])
    if kind == "function":
        return {
            "id": item_id,
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": "",
            "status": "in_progress",
        }
    if kind == "mcp":
        return {
            "id": item_id,
            "type": "mcp_call",
            "server_label": tool.server_label if tool else None,
            "name": name,
            "arguments": "",
            "output": None,
            "error": None,
            "status": "in_progress",
        }
    if kind == "python":
        return {
            "id": item_id,
            "type": "code_interpreter_call",
            "code": "",
            "container_id": "",
            "outputs": None,
            "status": "in_progress",
        }
    return {
        "id": item_id,
        "type": "web_search_call",
        "status": "in_progress",
        "action": {"type": _ACTION.get(name, "search")},
    }


def _action(name: str, arguments: str) -> dict[str, Any]:
    try:
        args = json.loads(arguments)
    except ValueError:
        args = {}
    args = args if isinstance(args, dict) else {}
    kind = _ACTION.get(name, "search")
    if kind == "search":
        return {"type": "search", "query": str(args.get("query", ""))}
    if kind == "find_in_page":
        return {"type": "find_in_page", "pattern": str(args.get("pattern", "")), "url": ""}
    target = args.get("id")
    return {"type": "open_page", "url": target if isinstance(target, str) else None}
