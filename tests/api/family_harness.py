"""End-to-end checks any family runs: every tool_choice mode, many seeds, streaming and not.

A family test gives a tiny model (its real template and special tokens) and the format name it
must be detected as; the checks are the same for every family.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import jsonschema
from transformers import AutoTokenizer

from tests.api.toolsets import SCHEMAS, TOOLS

MODES = {
    "auto": {"tool_choice": "auto"},
    "required": {"tool_choice": "required"},
    "named": {"tool_choice": {"type": "function", "function": {"name": "book.flight"}}},
    "none": {"tool_choice": "none"},
    "single": {"tool_choice": "required", "parallel_tool_calls": False},
}


@dataclass
class FamilyCase:
    family: object  # a TinyFamily
    format_name: str
    # tokens to push up (by text) so the random model reaches calls/reasoning in auto mode
    favour: dict[str, float] = field(default_factory=dict)
    reasoning: bool = False
    reasoning_markers: tuple[str, str] = ("<think>", "</think>")
    seeds: int = 20  # per mode and per path: 5 modes x 20 x 2 = 200 distinct generations


def bias_for(model_dir, favour: dict[str, float]) -> dict[str, float]:
    tok = AutoTokenizer.from_pretrained(model_dir)
    out = {}
    for text, value in favour.items():
        ids = tok.encode(text, add_special_tokens=False)
        if len(ids) == 1:
            out[str(ids[0])] = value
    return out


def reasoning_of(choice) -> str | None:
    """reasoning_content of a choice (an extra field on the client's message model)."""
    message = choice.message
    value = getattr(message, "reasoning_content", None)
    if value is None and getattr(message, "model_extra", None):
        value = message.model_extra.get("reasoning_content")
    return value


def check_choice(mode: str, choice) -> None:
    calls = choice.message.tool_calls or []
    if choice.finish_reason == "length":
        # cut off: a streamed call may end mid-arguments (the finish reason says so)
        assert mode != "none" or not calls
        return
    for call in calls:
        assert call.function.name in SCHEMAS, call.function.name
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])
    if mode == "none":
        assert not calls
        return
    if mode in ("required", "named", "single"):
        assert calls, choice.message
        assert choice.finish_reason == "tool_calls"
    if mode == "named":
        assert [c.function.name for c in calls] == ["book.flight"]
    if mode == "single":
        assert len(calls) == 1


async def _one(aclient, model, mode, seed, bias, stream):
    kw = dict(MODES[mode])
    request = dict(
        model=model,
        messages=[{"role": "user", "content": "Weather in Paris, and book a flight?"}],
        tools=TOOLS,
        max_tokens=300,
        seed=seed,
        logit_bias=bias,
        **kw,
    )
    if not stream:
        return (await aclient.chat.completions.create(**request)).choices[0]
    content, reasoning, calls, finish = "", "", {}, None
    async for chunk in await aclient.chat.completions.create(stream=True, **request):
        if not chunk.choices:
            continue
        d = chunk.choices[0].delta
        content += d.content or ""
        extra = d.model_extra or {}
        reasoning += extra.get("reasoning_content") or ""
        for tc in d.tool_calls or []:
            if tc.id:
                calls[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": ""}
            calls[tc.index]["arguments"] += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    return _StreamChoice(content or None, reasoning or None, list(calls.values()), finish)


class _StreamChoice:
    """A streamed answer shaped like a non-streamed choice, for the same checks."""

    def __init__(self, content, reasoning, calls, finish):
        from types import SimpleNamespace as NS

        self.finish_reason = finish
        self.message = NS(
            content=content,
            reasoning_content=reasoning,
            tool_calls=[
                NS(function=NS(name=c["name"], arguments=c["arguments"]), id=c["id"]) for c in calls
            ],
        )


def exercise(server, case: FamilyCase) -> dict[str, list]:
    """Run every mode with `case.seeds` seeds, streaming and not (distinct seeds, so each of the
    2 x 5 x seeds generations is a different one); check each answer."""
    bias = bias_for(server.model, case.favour)

    async def main():
        async with server.async_client() as aclient:
            jobs = [
                # streaming gets seeds of its own: every generation is a different one
                _one(aclient, server.model, mode, seed + (1000 if stream else 0), bias, stream)
                for mode in MODES
                for seed in range(case.seeds)
                for stream in (False, True)
            ]
            return await asyncio.gather(*jobs)

    results = asyncio.run(main())
    by_mode: dict[str, list] = {m: [] for m in MODES}
    i = 0
    for mode in MODES:
        for _seed in range(case.seeds):
            for _stream in (False, True):
                check_choice(mode, results[i])
                by_mode[mode].append(results[i])
                i += 1
    return by_mode
