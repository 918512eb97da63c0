"""Ask an OpenAI-compatible server BFCL's questions and score its answers.

Any server that speaks Chat Completions will do (strictcall, vLLM, llama.cpp, Ollama, OpenAI):
one request per question, the question's first turn as messages, its functions as tools (named
the OpenAI way, mapped back before scoring). Nothing is dropped: an HTTP error, a timeout or a
call whose arguments are not JSON is an error, counted as wrong and reported on its own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jsonschema

from strictcall.eval.checker import Call, check
from strictcall.eval.data import CATEGORIES, SAMPLE_PER_CATEGORY, Item, load_category
from strictcall.eval.dialect import ToolNames, to_openai_tools
from strictcall.eval.progress import Progress


@dataclass(frozen=True)
class Settings:
    """What every request of a run is sent with."""

    base_url: str
    model: str
    tool_choice: str = "auto"
    temperature: float = 0.0
    max_tokens: int | None = 512
    parallel_tool_calls: bool | None = None  # None: not sent, the server's default
    timeout: float = 300.0
    api_key: str | None = None


@dataclass
class Reply:
    calls: list[tuple[str, str]]  # (name as sent, arguments text)
    content: str | None
    finish_reason: str | None
    seconds: float
    error: dict | None = None  # {"kind", "message"}


def openai_client(settings: Settings) -> Any:
    try:
        import openai
    except ImportError:  # a dev/eval extra, not a server dependency
        raise RuntimeError(
            "strictcall eval needs the openai package: pip install 'strictcall[eval]'"
        ) from None
    return openai.AsyncOpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key or "unused",
        timeout=settings.timeout,
        max_retries=0,  # a failure is a result: counted, never retried away
    )


def _error_kind(exc: Exception) -> str:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIStatusError):
        return f"http_{exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    return type(exc).__name__


async def _ask(client: Any, item: Item, tools: list[dict], settings: Settings) -> Reply:
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": item.messages,
        "tools": tools,
        "tool_choice": settings.tool_choice,
        "temperature": settings.temperature,
    }
    if settings.max_tokens:
        body["max_tokens"] = settings.max_tokens
    if settings.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = settings.parallel_tool_calls
    start = time.monotonic()
    try:
        response = await client.chat.completions.create(**body)
        message = response.choices[0].message
        calls = [(c.function.name, c.function.arguments) for c in message.tool_calls or []]
        return Reply(
            calls, message.content, response.choices[0].finish_reason, time.monotonic() - start
        )
    except Exception as exc:  # every failure is scored, whatever raised it
        message = str(exc)[:500]
        return Reply(
            [], None, None, time.monotonic() - start, {"kind": _error_kind(exc), "message": message}
        )


def _validity(arguments: Any, schema: dict | None) -> str:
    """Why a parsed call is not schema-valid; empty when it is."""
    if schema is None:
        return "names no declared tool"
    try:
        error = jsonschema.exceptions.best_match(
            jsonschema.validators.validator_for(schema)(schema).iter_errors(arguments)
        )
    except jsonschema.exceptions.SchemaError as exc:  # the tool's schema itself is broken
        return f"schema not checkable: {exc.message}"
    return "" if error is None else f"schema: {error.message[:200]}"


def score(item: Item, reply: Reply, tools: list[dict], names: ToolNames) -> dict:
    """One item's result: the verdict, every call with its validity, and the error if any."""
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    calls: list[Call] = []
    details = []
    error = reply.error
    for sent, text in reply.calls:
        name = names.original(sent) or sent
        try:
            arguments = json.loads(text) if text else {}
            if not isinstance(arguments, dict):
                raise ValueError("arguments are not a JSON object")
        except ValueError as exc:
            details.append({"name": name, "arguments": text, "valid": False, "why": str(exc)})
            error = error or {"kind": "invalid_json", "message": f"{sent}: {exc}"[:500]}
            continue
        why = _validity(arguments, schemas.get(sent))
        details.append({"name": name, "arguments": arguments, "valid": not why, "why": why})
        calls.append({name: arguments})
    if error:
        correct, reason = False, f"error: {error['kind']}"
    else:
        verdict = check(item.category, item.functions, calls, item.ground_truth)
        correct, reason = verdict.correct, verdict.reason
    return {
        "id": item.id,
        "category": item.category,
        "correct": correct,
        "reason": reason,
        "error": error,
        "calls": details,
        "content": reply.content,
        "finish_reason": reply.finish_reason,
        "seconds": round(reply.seconds, 3),
    }


async def _run_item(client: Any, item: Item, settings: Settings, gate: asyncio.Semaphore) -> dict:
    tools, names = to_openai_tools(item.functions)
    async with gate:
        reply = await _ask(client, item, tools, settings)
    return score(item, reply, tools, names)


def summarize(items: Sequence[dict]) -> dict:
    """n, correct, accuracy, call validity and errors of a set of item results."""
    n = len(items)
    correct = sum(r["correct"] for r in items)
    calls = [c for r in items for c in r["calls"]]
    valid = sum(c["valid"] for c in calls)
    errors = Counter(r["error"]["kind"] for r in items if r["error"])
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n if n else 0.0,
        "calls": len(calls),
        "valid_calls": valid,
        "validity": valid / len(calls) if calls else None,
        "errors": sum(errors.values()),
        "errors_by_kind": dict(sorted(errors.items())),
        "truncated": sum(r["finish_reason"] == "length" for r in items),
    }


async def arun_bfcl(
    settings: Settings,
    categories: Sequence[str] = CATEGORIES,
    limit: int | None = None,
    concurrency: int = 4,
    data_dir: Path | None = None,
    progress: bool = True,
) -> dict:
    """The results object of one run (see `run_bfcl`)."""
    items = [i for c in categories for i in load_category(c, data_dir, limit)]
    bar = Progress(len(items), label=f"bfcl {settings.tool_choice}") if progress else None
    gate = asyncio.Semaphore(max(concurrency, 1))
    client = openai_client(settings)
    start = time.monotonic()

    async def one(item: Item) -> dict:
        result = await _run_item(client, item, settings, gate)
        if bar:
            bar.advance(result["correct"], result["error"] is not None)
        return result

    try:
        results = await asyncio.gather(*(one(i) for i in items))
    finally:
        await client.close()
        if bar:
            bar.close()
    by_category = {c: summarize([r for r in results if r["category"] == c]) for c in categories}
    overall = summarize(results)
    accuracies = [s["accuracy"] for s in by_category.values() if s["n"]]
    overall["mean_category_accuracy"] = sum(accuracies) / len(accuracies) if accuracies else 0.0
    run = {k: v for k, v in asdict(settings).items() if k != "api_key"}
    return {
        "benchmark": "bfcl_v4_ast",
        "settings": run,
        "data": str(data_dir)
        if data_dir
        else f"shipped sample ({SAMPLE_PER_CATEGORY} per category)",
        "limit": limit,
        "concurrency": concurrency,
        "wall_s": round(time.monotonic() - start, 2),
        "categories": by_category,
        "overall": overall,
        "items": results,
    }


def run_bfcl(
    base_url: str,
    model: str,
    categories: Sequence[str] = CATEGORIES,
    limit: int | None = None,
    tool_choice: str = "auto",
    concurrency: int = 4,
    data_dir: Path | str | None = None,
    progress: bool = True,
    **settings: Any,
) -> dict:
    """Run BFCL's questions against `base_url` (an OpenAI-compatible `/v1`) and score them.

    Returns a JSON-ready dict: `categories` (per category: n, correct, accuracy, calls,
    valid_calls, validity, errors, errors_by_kind, truncated), `overall` (the same over every
    item, plus mean_category_accuracy), `items` (each question's verdict, calls, error) and the
    `settings` it ran with. Extra keyword arguments are `Settings` fields (temperature,
    max_tokens, parallel_tool_calls, timeout, api_key).
    """
    run = Settings(base_url=base_url, model=model, tool_choice=tool_choice, **settings)
    root = Path(data_dir) if data_dir else None
    return asyncio.run(arun_bfcl(run, categories, limit, concurrency, root, progress))
