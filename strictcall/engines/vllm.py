"""vLLM as the engine: strictcall's requests run on a vLLM server (docs/engines.md).

Each request is one streaming `/v1/completions` call: the prompt as token ids, the grammar as
`structured_outputs: {"grammar": ...}` (vLLM's guidance backend, llguidance, masks every step),
token ids and logprobs back as ids. Text is never taken from vLLM: the ids are decoded by the
shared token table, so the parser reads exactly the bytes the grammar constrained. A matcher of
our own follows the output so a dead end (vLLM's guidance backend then allows only the end, or
answers 500) is reported as the embedded engine reports it, never as a silent stop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import llguidance

from strictcall.chat.tokenizer import ModelTokenizer
from strictcall.engines.base import (
    EngineCapabilities,
    EngineError,
    EngineOverloaded,
    FinishReason,
    GenerationRequest,
    RequestHandle,
    TokenEvent,
    TokenLogprob,
    check_fits,
)
from strictcall.engines.detokenize import Detokenizer, TokenTable
from strictcall.engines.vllm_process import VllmProcess
from strictcall.grammar.matchers import InvalidGrammar, MatcherCache

log = logging.getLogger(__name__)
logging.getLogger("httpx2").setLevel(logging.WARNING)  # not a line per token stream

# the guidance backend vLLM must run for strictcall's grammars (`vllm serve` flag)
GUIDANCE_FLAG = '--structured-outputs-config \'{"backend": "guidance"}\''


class VllmMismatch(ValueError):
    """The vLLM server cannot serve this strictcall (another model, tokenizer or backend)."""


@dataclass
class VllmConfig:
    url: str  # http://host:port of the vLLM server (no /v1)
    api_key: str | None = None  # vLLM's own --api-key, if it has one
    max_queue: int = 256
    connect_timeout: float = 10.0


@dataclass
class _Request:
    request: GenerationRequest
    handle: RequestHandle
    detok: Detokenizer
    matcher: llguidance.LLMatcher | None
    output: list[int] = field(default_factory=list)
    future: concurrent.futures.Future | None = None


class VllmEngine:
    capabilities = EngineCapabilities(name="vllm", fast_forward=False, grammar_workaround=False)

    def __init__(
        self,
        config: VllmConfig,
        tokenizer: ModelTokenizer,
        model_name: str,
        vocab: int,
        process: VllmProcess | None = None,
    ):
        self.config = config
        self.tokenizer = tokenizer
        self.model_name = model_name  # what strictcall serves (the local tokenizer's model)
        self.vocab = vocab
        self.table = TokenTable(tokenizer, vocab)
        self.tokenizer_size = self.table.size
        self.eos_ids = frozenset(tokenizer.eos_ids)
        self._matchers = MatcherCache(self.table.lltok)
        self.served = ""  # vLLM's name for the model (connect())
        self.max_model_len = 0
        self.stats: dict[str, float] = {"tokens": 0}
        self._requests: dict[str, _Request] = {}
        self._reserved = 0  # submits past the queue check, compiling their grammar
        self._lock = threading.Lock()
        self._client: httpx2.AsyncClient | None = None
        self.process = process  # the vLLM started for us, stopped with the engine

    # ---- start: is this vLLM the one we need? ---------------------------------------------
    def connect(self) -> None:
        """Check the server: the model it serves, its tokenizer, and that it takes an
        llguidance grammar. VllmMismatch (one paragraph saying what to change) otherwise."""
        with httpx2.Client(
            base_url=self.config.url, headers=self._headers(), timeout=60.0, trust_env=False
        ) as http:
            try:
                models = http.get("/v1/models")
            except httpx2.HTTPError as exc:
                raise VllmMismatch(f"no vLLM server answers at {self.config.url}: {exc}") from None
            if models.status_code != 200:
                raise VllmMismatch(
                    f"{self.config.url}/v1/models answered {models.status_code}: "
                    f"{models.text[:200]} (is it a vLLM server? does it need --vllm-api-key?)"
                )
            self._pick_model(models.json().get("data") or [])
            self._check_tokenizer(http)
            self._probe_grammar(http)

    def _pick_model(self, cards: list[dict[str, Any]]) -> None:
        want = {self.model_name, self.model_name.rstrip("/").rsplit("/", 1)[-1]}
        for card in cards:
            names = {str(card.get("id")), str(card.get("root") or "")}
            names |= {n.rstrip("/").rsplit("/", 1)[-1] for n in names}
            if names & want:
                self.served = str(card["id"])
                self.max_model_len = int(card.get("max_model_len") or 0)
                break
        else:
            served = ", ".join(str(c.get("id")) for c in cards) or "nothing"
            raise VllmMismatch(
                f"the vLLM server at {self.config.url} serves {served}, not {self.model_name}; "
                f"start it with `vllm serve {self.model_name} {GUIDANCE_FLAG}` (or give "
                "strictcall the model it serves)"
            )
        if self.max_model_len <= 0:
            raise VllmMismatch(f"the vLLM server at {self.config.url} states no max_model_len")

    def _check_tokenizer(self, http: httpx2.Client) -> None:
        """vLLM's tokenizer must give the ids ours gives, special tokens included."""
        specials = list(self.tokenizer.special_tokens)[:8]
        probe = 'Hello, wörld! 12 {"a": [1.5, null]}\n\t' + "".join(specials) + " déjà vu 🙂"
        ours = self.tokenizer.encode(probe)
        r = http.post(
            "/tokenize",
            json={"model": self.served, "prompt": probe, "add_special_tokens": False},
        )
        if r.status_code != 200:
            raise VllmMismatch(
                f"{self.config.url}/tokenize answered {r.status_code}: {r.text[:200]}"
            )
        theirs = r.json().get("tokens")
        if theirs != ours:
            raise VllmMismatch(
                f"the vLLM server at {self.config.url} tokenizes differently from "
                f"{self.model_name} (another tokenizer or revision): start it with the same model"
            )

    def _probe_grammar(self, http: httpx2.Client) -> None:
        """A grammar only llguidance reads (%json): another backend refuses it or ignores it."""
        ids = self.tokenizer.encode("Say ok:")
        grammar = 'start: answer\nanswer: %json {"const": "ok"}\n'
        r = http.post(
            "/v1/completions",
            json={
                "model": self.served,
                "prompt": ids,
                "max_tokens": 8,
                "temperature": 0,
                "structured_outputs": {"grammar": grammar},
                "return_token_ids": True,
                "skip_special_tokens": False,
            },
        )
        text = ""
        if r.status_code == 200:
            choice = r.json()["choices"][0]
            ids = [t for t in choice.get("token_ids") or [] if t not in self.eos_ids]
            text = self.tokenizer.hf.decode(ids)
        if r.status_code != 200 or text.strip() != '"ok"':
            why = (
                f"answered {r.status_code}: {r.text[:200]}"
                if r.status_code != 200
                else (f"wrote {text!r} under a grammar that allows only '\"ok\"'")
            )
            raise VllmMismatch(
                f"the vLLM server at {self.config.url} does not run llguidance grammars (the "
                f"probe {why}); start it with {GUIDANCE_FLAG}"
            )

    # ---- the Engine protocol --------------------------------------------------------------
    def start(self) -> None:
        pass

    def shutdown(self) -> None:
        with self._lock:
            pending = list(self._requests.values())
        for req in pending:
            if req.future is not None:
                req.future.cancel()
        if self.process is not None:
            self.process.stop()

    @property
    def in_flight(self) -> int:
        return len(self._requests)

    @property
    def running(self) -> int:
        return sum(1 for r in list(self._requests.values()) if r.output)

    def submit(self, request: GenerationRequest, loop: asyncio.AbstractEventLoop) -> RequestHandle:
        check_fits(request, self.max_model_len)
        handle = RequestHandle(request.request_id, loop)
        with self._lock:  # a full server refuses before spending time on the grammar
            if len(self._requests) + self._reserved >= self.config.max_queue:
                raise EngineOverloaded(f"{len(self._requests)} requests in flight")
            self._reserved += 1
        try:  # compiled outside the lock: a large grammar does not hold up other requests
            t0 = time.perf_counter()
            matcher = self._matchers.matcher(request.grammar) if request.grammar else None
            handle.grammar_s = time.perf_counter() - t0
        except InvalidGrammar as exc:
            raise EngineError(f"invalid grammar: {exc}", code="invalid_grammar") from None
        finally:
            with self._lock:
                self._reserved -= 1
        req = _Request(request, handle, self.table.detokenizer(request.hidden_token_ids), matcher)
        with self._lock:
            self._requests[request.request_id] = req
        req.future = asyncio.run_coroutine_threadsafe(self._run(req), loop)
        return handle

    def abort(self, request_id: str) -> None:
        """Cancel the call: its HTTP stream closes, and vLLM aborts the request."""
        req = self._requests.get(request_id)
        if req is not None and req.future is not None:
            req.future.cancel()

    # ---- one request ----------------------------------------------------------------------
    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(
                base_url=self.config.url,
                headers=self._headers(),
                timeout=httpx2.Timeout(self.config.connect_timeout, read=None),
                limits=httpx2.Limits(max_connections=self.config.max_queue + 8),
                trust_env=False,
            )
        return self._client

    def _headers(self) -> dict[str, str]:
        key = self.config.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        p = request.sampling
        body: dict[str, Any] = {
            "model": self.served,
            "prompt": request.prompt_ids,
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "min_p": p.min_p,
            "presence_penalty": p.presence_penalty,
            "frequency_penalty": p.frequency_penalty,
            "repetition_penalty": p.repetition_penalty,
            "ignore_eos": p.ignore_eos,
            "skip_special_tokens": False,
            "spaces_between_special_tokens": False,
            "return_token_ids": True,
            "stream": True,
        }
        if p.top_k > 0:
            body["top_k"] = p.top_k
        if p.seed is not None:
            body["seed"] = p.seed
        if p.logit_bias:
            body["logit_bias"] = {str(k): v for k, v in p.logit_bias.items()}
        if p.stop_token_ids:
            body["stop_token_ids"] = list(p.stop_token_ids)
        if p.logprobs is not None:  # vLLM's logprobs are taken after the grammar's mask
            body["logprobs"] = p.logprobs
            body["return_tokens_as_token_ids"] = True
        if self.tokenizer_size < self.vocab:  # embedding padding rows are no tokens
            pad = dict.fromkeys(map(str, range(self.tokenizer_size, self.vocab)), -100.0)
            body["logit_bias"] = {**body.get("logit_bias", {}), **pad}
        if request.grammar is not None:
            body["structured_outputs"] = {"grammar": request.grammar}
        return body

    async def _run(self, req: _Request) -> None:
        try:
            async with self._http().stream(
                "POST", "/v1/completions", json=self._body(req.request)
            ) as resp:
                if resp.status_code != 200:
                    detail = (await resp.aread()).decode("utf-8", "replace")
                    self._failed(req, resp.status_code, detail)
                    return
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    if self._chunk(req, json.loads(data)):
                        return
            self._end(req, "error", "the vLLM stream ended without a finish reason")
        except asyncio.CancelledError:
            self._end(req, "abort")
        except (httpx2.HTTPError, ValueError, KeyError) as exc:
            log.warning("vLLM request %s failed: %s", req.request.request_id, exc)
            self._end(req, "error", f"the vLLM engine failed: {type(exc).__name__}: {exc}")
        except Exception as exc:  # one failure ends this request alone
            log.exception("vLLM request %s failed", req.request.request_id)
            self._end(req, "error", f"the vLLM engine failed: {type(exc).__name__}: {exc}")

    def _chunk(self, req: _Request, chunk: dict[str, Any]) -> bool:
        """Push one streamed chunk; True when the request is over."""
        if "error" in chunk:
            err = chunk["error"]
            detail = err.get("message", str(err)) if isinstance(err, dict) else str(err)
            self._failed(req, int(err.get("code") or 500) if isinstance(err, dict) else 500, detail)
            return True
        choices = chunk.get("choices") or []
        if not choices:
            return False
        choice = choices[0]
        ids = [int(t) for t in choice.get("token_ids") or []]
        logprobs = self._logprobs(choice.get("logprobs"), len(ids))
        finish = choice.get("finish_reason")
        text = ""
        shown: list[int] = []
        for token in ids:
            req.output.append(token)
            shown.append(token)
            self._follow(req, token)
            if token in self.eos_ids or token in req.request.sampling.stop_token_ids:
                continue  # as the embedded engine: the end token has no text
            text += req.detok.push(token)
        self.stats["tokens"] += len(ids)
        reason: FinishReason | None = None
        error = code = None
        if finish is not None:
            text += req.detok.flush()
            reason = "length" if finish == "length" else "abort" if finish == "abort" else "stop"
            if reason == "stop" and self._dead_end(req):
                reason, code = "error", "grammar_dead_end"
                error = "the grammar allows no token here: " + (
                    req.matcher.get_error()[:300] if req.matcher is not None else ""
                )
        self._push(req, TokenEvent(shown, text, logprobs, reason, error, code))
        return reason is not None

    def _follow(self, req: _Request, token: int) -> None:
        """Advance our matcher by vLLM's token (vLLM's own matcher already allowed it)."""
        if req.matcher is None or token in self.eos_ids:
            return
        if not req.matcher.consume_token(token):
            log.warning(
                "vLLM wrote a token our grammar refuses (%s); the server's schema check still "
                "judges the call",
                req.matcher.get_error()[:200],
            )
            req.matcher = None

    def _dead_end(self, req: _Request) -> bool:
        """vLLM stopped under a grammar that was not complete: its mask had only the end."""
        m = req.matcher
        return m is not None and not (m.is_accepting() or m.is_stopped())

    def _logprobs(self, raw: dict[str, Any] | None, n: int) -> list[TokenLogprob] | None:
        if not raw or n == 0:
            return None
        out = []
        tokens = raw.get("tokens") or []
        values = raw.get("token_logprobs") or [None] * len(tokens)
        tops = raw.get("top_logprobs") or [None] * len(tokens)
        for tok, lp, top in zip(tokens, values, tops, strict=True):
            token = _token_id(tok)
            # vLLM lists masked tokens at -9999: they were never possible
            alts = [(_token_id(t), v) for t, v in (top or {}).items() if v > -9999]
            out.append(
                TokenLogprob(
                    token=self.table.text_of(token),
                    logprob=float(lp if lp is not None else float("-inf")),
                    bytes=list(self.table.token_bytes[token]),
                    top=[
                        (self.table.text_of(i), float(v), list(self.table.token_bytes[i]))
                        for i, v in alts
                    ],
                )
            )
        return out or None

    def _failed(self, req: _Request, status: int, detail: str) -> None:
        """vLLM refused or failed the request. Under a grammar its guidance backend answers
        500 where llguidance refuses a token it allowed: a dead end of the constraint."""
        message = _error_message(detail)
        if status == 400:
            self._end(req, "error", f"vLLM refused the request: {message}", "engine_refused")
        elif req.matcher is not None:
            self._end(req, "error", f"the grammar allows no way on: {message}", "grammar_dead_end")
        else:
            self._end(req, "error", f"the vLLM engine failed ({status}): {message}")

    def _end(
        self, req: _Request, reason: FinishReason, error: str | None = None, code: str | None = None
    ) -> None:
        self._push(req, TokenEvent([], "", None, reason, error, code))

    def _push(self, req: _Request, event: TokenEvent) -> None:
        if req.request.request_id not in self._requests:
            return  # already ended
        event.prompt_tokens = len(req.request.prompt_ids)
        event.completion_tokens = len(req.output)
        if event.finish_reason is not None:
            with self._lock:
                self._requests.pop(req.request.request_id, None)
        with contextlib.suppress(RuntimeError):  # the event loop is closed: nobody listens
            req.handle.push(event)


def _token_id(text: str) -> int:
    """vLLM's `token_id:N` (return_tokens_as_token_ids)."""
    return int(str(text).rsplit(":", 1)[-1])


def _error_message(detail: str) -> str:
    try:
        body = json.loads(detail)
    except ValueError:
        return detail[:300]
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, dict):
        return str(err.get("message", err))[:300]
    return str(err)[:300]


def model_vocab(model: str, trust_remote_code: bool = False) -> int:
    """Rows of the model's output layer (config.json's vocab_size), padding rows included."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
    return int(config.get_text_config().vocab_size)


def open_vllm_engine(
    model: str,
    tokenizer: ModelTokenizer,
    *,
    url: str | None,
    python: str,
    vllm_args: list[str],
    api_key: str | None = None,
    max_queue: int = 256,
    trust_remote_code: bool = False,
    on_death: Callable[[int], None] = lambda code: None,
) -> VllmEngine:
    """The vLLM engine: on the server at `url`, or on one started here (and owned: stopped
    with the engine). Raises VllmMismatch or VllmStartError with what to change."""
    vocab = model_vocab(model, trust_remote_code)
    process = None
    if url is None:
        process = VllmProcess(python, model, vllm_args)
        process.start(on_death)
        url = process.url
    engine = VllmEngine(
        VllmConfig(url.rstrip("/"), api_key, max_queue),
        tokenizer,
        model,
        vocab,
        process,
    )
    try:
        engine.connect()
    except BaseException:
        if process is not None:
            process.stop()
        raise
    return engine
