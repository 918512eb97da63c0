"""What every engine takes and yields (DESIGN idea 4: engines are replaceable).

An engine takes prompt token ids, sampling settings and an optional Lark grammar (llguidance's
dialect), and yields token ids, their logprobs and a finish reason, asynchronously; the text of
those ids comes from the one token table built from the shared tokenizer (detokenize.py), so
both engines hand the parser exactly the bytes the grammar constrained. An engine declares the
model's limits (context, vocabulary rows including padding) and what it can do
(`EngineCapabilities`). The embedded engine (embedded.py) is the default; vllm.py drives a
vLLM server (docs/engines.md).
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


@dataclass(frozen=True)
class EngineCapabilities:
    name: str  # "embedded" or "vllm": shown at start and on /v1/models
    # feeds the tokens a grammar forces ahead in one forward pass (grammar/forced.py)
    fast_forward: bool
    # runs the llguidance marker workaround (grammar/commit.py) inside its sampling loop; an
    # engine that cannot (vLLM samples under its own matcher) relies on markers written as
    # token ids and on the server's dead-end check and schema check of every call
    grammar_workaround: bool
    # the dead end of a grammar (no token allowed) ends a request with
    # error_code="grammar_dead_end", never as a silent stop
    reports_dead_ends: bool = True


def check_fits(request: GenerationRequest, max_model_len: int) -> None:
    """EngineError (as vLLM words it) for an empty prompt or one that leaves no room."""
    prompt = len(request.prompt_ids)
    if prompt == 0:
        raise EngineError("the prompt is empty", param="messages")
    if prompt + request.sampling.max_tokens > max_model_len:
        raise EngineError(
            f"This model's maximum context length is {max_model_len} tokens. However, "
            f"you requested {prompt + request.sampling.max_tokens} tokens ({prompt} in the "
            f"messages, {request.sampling.max_tokens} in the completion). Please reduce the "
            "length of the messages or completion.",
            param="messages" if prompt >= max_model_len else "max_tokens",
            code="context_length_exceeded",
        )


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
    # rows of the model's output layer, padding rows included: token ids are 0 <= id < vocab
    # (logit_bias keys and prompt ids are checked against it)
    vocab: int
    # the tokenizer's size: ids from here up to vocab are embedding padding, never sampled
    tokenizer_size: int
    capabilities: EngineCapabilities
    stats: dict[str, float]  # at least "tokens": generated so far (the /metrics counter)

    @property
    def in_flight(self) -> int:
        """Requests accepted and not finished."""
        ...

    @property
    def running(self) -> int:
        """Requests generating now."""
        ...

    def submit(self, request: GenerationRequest, loop: asyncio.AbstractEventLoop) -> RequestHandle:
        """Check and enqueue; raises EngineError for bad requests, EngineOverloaded when full."""
        ...

    def abort(self, request_id: str) -> None: ...

    def start(self) -> None: ...

    def shutdown(self) -> None: ...
