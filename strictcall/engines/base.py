"""What every engine takes and yields (DESIGN idea 4: engines are replaceable).

An engine takes prompt ids, sampling settings and an optional grammar, and yields tokens with
their text. The embedded engine is the default; others implement the same protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

FinishReason = Literal["stop", "length", "abort", "error"]


class EngineError(ValueError):
    """A request the engine refuses (the API answers 400)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.param = param
        self.code = code


class EngineOverloaded(RuntimeError):
    """The queue is full (the API answers 503 with Retry-After)."""


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    seed: int | None = None
    logit_bias: dict[int, float] | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    logprobs: int | None = None  # None: no logprobs; k: the chosen token and k alternatives
    stop_token_ids: tuple[int, ...] = ()
    ignore_eos: bool = False


@dataclass
class GenerationRequest:
    request_id: str
    prompt_ids: list[int]
    sampling: SamplingParams
    grammar: str | None = None  # Lark (llguidance dialect)
    hidden_token_ids: frozenset[int] = frozenset()  # generated, but their text is not shown


@dataclass
class TokenLogprob:
    token: str
    logprob: float
    bytes: list[int]
    top: list[tuple[str, float, list[int]]] = field(default_factory=list)


@dataclass
class TokenEvent:
    """One step of a generation: new tokens and their text, or the end."""

    token_ids: list[int]
    text: str
    logprobs: list[TokenLogprob] | None = None
    finish_reason: FinishReason | None = None
    error: str | None = None
    # why it failed: "grammar_dead_end" (the constraint allowed no way on; the request's
    # schema or grammar is at fault) or None (a fault in the server)
    error_code: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class RequestHandle:
    """The asyncio side of one generation: the engine thread pushes events into it."""

    def __init__(self, request_id: str, loop: asyncio.AbstractEventLoop):
        self.request_id = request_id
        self._loop = loop
        self._queue: asyncio.Queue[TokenEvent] = asyncio.Queue()
        self.finished = False
        self.grammar_s = 0.0  # time the engine spent compiling the request's grammar

    def push(self, event: TokenEvent) -> None:
        """Called from the engine thread."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    async def __aiter__(self) -> AsyncIterator[TokenEvent]:
        while not self.finished:
            event = await self._queue.get()
            if event.finish_reason is not None:
                self.finished = True
            yield event


class Engine(Protocol):
    model_name: str
    max_model_len: int
    vocab: int  # token ids are 0 <= id < vocab (logit_bias keys are checked against it)

    def submit(self, request: GenerationRequest, loop: asyncio.AbstractEventLoop) -> RequestHandle:
        """Check and enqueue; raises EngineError for bad requests, EngineOverloaded when full."""
        ...

    def abort(self, request_id: str) -> None: ...

    def start(self) -> None: ...

    def shutdown(self) -> None: ...
