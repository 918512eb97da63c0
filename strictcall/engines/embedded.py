"""The embedded engine: transformers + torch, an own decode loop, batched and grammar-masked.

One background thread runs the loop: admit waiting requests (prefill), then decode one token
for every running sequence in a single forward pass. Grammar masks for the step are computed by
llguidance on a helper thread while the forward pass runs (both release the GIL), so masking
does not stall the model.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import llguidance
import numpy as np
import torch
from transformers import AutoModelForCausalLM

from strictcall.chat.tokenizer import ModelTokenizer, load_tokenizer
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
from strictcall.engines.batch import PaddedBatch, SeparateCaches
from strictcall.engines.detokenize import Detokenizer, TokenTable
from strictcall.engines.sampling import RowSampler, bitmask_to_bool, top_logprobs
from strictcall.grammar.commit import commit
from strictcall.grammar.forced import MAX_DRAFT, forced_tokens
from strictcall.grammar.matchers import InvalidGrammar, MatcherCache

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

# Test-only fault injection (docs/reliability.md): a request whose `seed` equals this value
# raises inside its own sampling step after two tokens, as a bug in one request's generation
# would. Off unless the variable is set; the server logs a warning when it is.
FAULT_SEED_ENV = "STRICTCALL_INJECT_FAULT_SEED"


@dataclass
class EngineConfig:
    model: str
    device: str = "auto"  # auto | cpu | cuda
    dtype: str = "auto"  # auto | float32 | float16 | bfloat16
    max_model_len: int | None = None
    max_batch: int = 16  # sequences decoded together
    max_queue: int = 256  # running + waiting; more get EngineOverloaded
    chat_template: str | None = None
    trust_remote_code: bool = False
    threads: int | None = None  # torch threads on CPU; None: all cores but one
    fast_forward: bool = (
        True  # feed the tokens a grammar forces ahead, verified (grammar/forced.py)
    )


@dataclass
class _Sequence:
    request: GenerationRequest
    handle: RequestHandle
    sampler: RowSampler
    detok: Detokenizer
    matcher: llguidance.LLMatcher | None
    output: list[int] = field(default_factory=list)
    next_token: int = -1
    finish: FinishReason | None = None
    error: str | None = None
    error_code: str | None = None
    pending_logprobs: TokenLogprob | None = None
    reported: bool = False  # the final event was sent
    draft: list[int] = field(default_factory=list)  # forced tokens to feed after next_token


@dataclass
class _Masks:
    allowed: torch.Tensor  # [rows, vocab] bool
    nonempty: list[bool]  # per row: some token is allowed


class EmbeddedEngine:
    capabilities = EngineCapabilities(name="embedded", fast_forward=True, grammar_workaround=True)

    def __init__(self, config: EngineConfig, tokenizer: ModelTokenizer | None = None):
        self.config = config
        self.model_name = config.model
        self.tokenizer = tokenizer or load_tokenizer(
            config.model, config.chat_template, config.trust_remote_code
        )
        self.device = _resolve_device(config.device)
        if self.device.type == "cpu":
            # leave a core to the mask helper and the HTTP side (bench/README.md)
            torch.set_num_threads(config.threads or max(1, (os.cpu_count() or 2) - 1))
        dtype = _resolve_dtype(config.dtype, self.device, config.model)
        log.info("loading %s on %s (%s)", config.model, self.device, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(
            config.model, dtype=dtype, trust_remote_code=config.trust_remote_code
        ).to(self.device)
        self.model.eval()
        self.vocab = int(self.model.get_output_embeddings().weight.shape[0])
        declared = int(getattr(self.model.config, "max_position_embeddings", 0) or 0)
        if config.max_model_len and declared and config.max_model_len > declared:
            # as vLLM: a context the model was not built for is refused, not silently capped
            raise ValueError(
                f"--max-model-len {config.max_model_len} is above this model's limit of "
                f"{declared} tokens (max_position_embeddings in its config.json)"
            )
        limit = declared or 4096
        self.max_model_len = min(config.max_model_len or limit, limit)
        self.eos_ids = frozenset(self.tokenizer.eos_ids)
        self.table = TokenTable(self.tokenizer, self.vocab)
        self.tokenizer_size = self.table.size
        self.lltok = self.table.lltok
        self.token_bytes = self.table.token_bytes
        self.executor = llguidance.LLExecutor()
        # compiled grammars by text; requests get deep copies (~0.02 ms instead of a compile)
        self._matchers = MatcherCache(self.lltok)
        self._mask_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="masks")
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._waiting: deque[_Sequence] = deque()
        self._running: list[_Sequence] = []
        self._batch: PaddedBatch | SeparateCaches | None = None
        self._count_lock = threading.Lock()
        self._in_flight = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats: dict[str, float] = {
            "steps": 0,
            "tokens": 0,
            "forced_tokens": 0,  # tokens kept from grammar drafts (no step of their own)
            "draft_fed": 0,  # draft tokens fed ahead, kept or not
            "mask_wait_s": 0.0,
            "forward_s": 0.0,
        }
        self._fault_seed = _fault_seed_from_env()

    # ---- public API -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        self._stop.set()
        self._inbox.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._mask_pool.shutdown(wait=False)

    @property
    def in_flight(self) -> int:
        """Requests accepted and not yet finished (running, waiting, or just submitted)."""
        return self._in_flight

    @property
    def running(self) -> int:
        """Sequences in the decode batch."""
        return len(self._running)

    def compile_grammar(self, grammar: str) -> llguidance.LLMatcher:
        """A fresh matcher for `grammar`; EngineError if the grammar is invalid."""
        try:
            return self._matchers.matcher(grammar)
        except InvalidGrammar as exc:
            raise EngineError(f"invalid grammar: {exc}", code="invalid_grammar") from None

    def submit(self, request: GenerationRequest, loop: asyncio.AbstractEventLoop) -> RequestHandle:
        check_fits(request, self.max_model_len)
        with self._count_lock:  # a full server refuses before spending time on the grammar
            if self._in_flight >= self.config.max_queue:
                raise EngineOverloaded(f"{self._in_flight} requests in flight")
            self._in_flight += 1
        try:
            handle = RequestHandle(request.request_id, loop)
            t0 = time.perf_counter()
            matcher = self.compile_grammar(request.grammar) if request.grammar else None
            handle.grammar_s = time.perf_counter() - t0
            seq = _Sequence(
                request=request,
                handle=handle,
                sampler=RowSampler(request.sampling, self.vocab, request.prompt_ids),
                detok=self.table.detokenizer(request.hidden_token_ids),
                matcher=matcher,
            )
        except BaseException:
            with self._count_lock:
                self._in_flight -= 1
            raise
        self._inbox.put(seq)
        return handle

    def abort(self, request_id: str) -> None:
        self._inbox.put(request_id)

    # ---- the loop -------------------------------------------------------------------------
    def _loop(self) -> None:
        torch.set_grad_enabled(False)
        while not self._stop.is_set():
            try:
                self._drain(block=not self._running and not self._waiting)
                self._admit()
                if self._running:
                    self._decode()
            except Exception as exc:  # one failure must not stop the server
                log.exception("engine step failed")
                for seq in self._running + list(self._waiting):
                    seq.finish, seq.error = "error", f"engine error: {exc}"
                    self._emit(seq, [], "")
                self._running, self._waiting, self._batch = [], deque(), None
        for seq in self._running + list(self._waiting):
            seq.finish = "abort"
            self._emit(seq, [], "")

    def _drain(self, block: bool) -> None:
        try:
            item = self._inbox.get(timeout=0.5) if block else self._inbox.get_nowait()
        except queue.Empty:
            return
        while True:
            if isinstance(item, _Sequence):
                self._waiting.append(item)
            elif isinstance(item, str):
                self._abort(item)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _abort(self, request_id: str) -> None:
        for seq in list(self._waiting):
            if seq.request.request_id == request_id:
                self._waiting.remove(seq)
                seq.finish = "abort"
                self._emit(seq, [], "")
        for seq in self._running:
            if seq.request.request_id == request_id and seq.finish is None:
                seq.finish = "abort"
                self._emit(seq, [], "")
        self._retire()

    def _fail(self, seq: _Sequence, exc: Exception, during: str) -> None:
        """End one request whose own work raised; the others keep running."""
        log.exception("%s failed for %s", during, seq.request.request_id)
        seq.finish = "error"
        seq.error = f"{during} failed: {type(exc).__name__}: {str(exc)[:200]}"
        self._emit(seq, [], "")

    def _admit(self) -> None:
        while self._waiting and len(self._running) < self.config.max_batch:
            seq = self._waiting.popleft()
            masks = self._mask_pool.submit(self._masks, [seq])  # overlaps the prefill
            try:
                cache, logits = self._new_batch_member(seq)
            except Exception as exc:
                masks.cancel()
                self._fail(seq, exc, "prefill")
                continue
            try:
                first = masks.result()
                if seq.matcher is not None and seq.request.grammar:
                    # before any token: the next request with this grammar gets a warm copy
                    self._matchers.keep_warm(seq.request.grammar, seq.matcher)
                token = self._choose(seq, logits, first, 0)
                self._accept(seq, token)
            except Exception as exc:
                self._fail(seq, exc, "generation")
                continue
            if seq.finish is None:
                assert self._batch is not None
                self._batch.add(cache, len(seq.request.prompt_ids))
                self._running.append(seq)
                self._plan_draft(seq)

    def _new_batch_member(self, seq: _Sequence):
        forward = self._batch or PaddedBatch(self.model, self.device)
        cache, logits = forward.prefill(seq.request.prompt_ids)
        if self._batch is None:
            plain = PaddedBatch.supports(cache)
            self._batch = forward if plain else SeparateCaches(self.model, self.device)
        return cache, logits

    def _decode(self) -> None:
        rows = self._running
        assert self._batch is not None
        masks = self._mask_pool.submit(self._masks, rows)
        ahead = isinstance(self._batch, PaddedBatch) and any(s.draft for s in rows)
        t0 = time.perf_counter()
        if ahead:
            assert isinstance(self._batch, PaddedBatch)
            logits = self._batch.step_ahead([[s.next_token, *s.draft] for s in rows])
            self.stats["draft_fed"] += sum(len(s.draft) for s in rows)
        else:
            logits = self._batch.step([s.next_token for s in rows]).unsqueeze(1)
        t1 = time.perf_counter()
        allowed = masks.result()
        t2 = time.perf_counter()
        self.stats["forward_s"] += t1 - t0
        self.stats["mask_wait_s"] += t2 - t1
        self.stats["steps"] += 1
        kept = []
        for i, seq in enumerate(rows):
            draft, seq.draft = seq.draft if ahead else [], []
            kept.append(1)
            if seq.finish is not None:
                continue
            try:  # a failure in one row's sampling or grammar ends that request alone
                kept[-1] = self._advance(seq, logits[i], allowed, i, draft)
            except Exception as exc:
                self._fail(seq, exc, "generation")
        if ahead:
            assert isinstance(self._batch, PaddedBatch)
            self._batch.settle(kept)
        for seq in rows:
            self._plan_draft(seq)
        self._retire()

    def _advance(
        self, seq: _Sequence, logits: torch.Tensor, masks: _Masks | None, i: int, draft: list[int]
    ) -> int:
        """Choose this row's tokens from logits [fed, vocab], one position at a time, exactly as
        one step per token would: position j's logits are the model's after the sampled token
        and draft[:j], so they stay valid while every choice so far equals the draft. The first
        choice that differs (or ends the output) ends the step, and the rest of the draft is
        dropped. Greedy and sampled outputs (the same draws in the same order) are therefore
        those without the draft; only the number of forward passes changes. Returns how many
        fed tokens were kept."""
        for j in range(len(draft) + 1):
            if j > 0:
                masks, i = self._masks([seq]), 0  # the grammar's state after draft[:j]
            token = self._choose(seq, logits[j], masks, i)
            self._accept(seq, token)
            if seq.finish is not None or j == len(draft) or token != draft[j]:
                return j + 1
            self.stats["forced_tokens"] += 1
        raise AssertionError("unreachable")

    def _plan_draft(self, seq: _Sequence) -> None:
        """The tokens the grammar forces after seq.next_token, to feed with it next step."""
        if not self.config.fast_forward or seq.matcher is None or seq.finish is not None:
            return
        if not isinstance(self._batch, PaddedBatch):  # one forward per sequence: no room
            return
        room = min(
            seq.request.sampling.max_tokens - len(seq.output),
            self.max_model_len - len(seq.request.prompt_ids) - len(seq.output),
        )
        seq.draft = forced_tokens(seq.matcher, min(MAX_DRAFT, room - 1))

    def _retire(self) -> None:
        keep = [i for i, s in enumerate(self._running) if s.finish is None]
        if len(keep) != len(self._running) and self._batch is not None:
            self._batch.keep(keep)
            self._running = [self._running[i] for i in keep]

    # ---- per token ------------------------------------------------------------------------
    def _masks(self, rows: list[_Sequence]) -> _Masks | None:
        """Allowed-token masks for rows with a grammar (rows without one: all allowed)."""
        jobs = [(s.matcher, i) for i, s in enumerate(rows) if s.matcher is not None]
        if not jobs:
            return None
        words = (self.vocab + 31) // 32
        bitmask = np.full((len(rows), words), -1, dtype=np.int32)
        self.executor.unsafe_compute_mask_ptr(jobs, bitmask.ctypes.data, words * 4, len(rows))
        # emptiness read off the packed words: 32x less work than scanning the float row
        return _Masks(
            bitmask_to_bool(bitmask, self.vocab),
            bitmask.any(axis=1).tolist(),  # type: ignore[arg-type]
        )

    def _choose(self, seq: _Sequence, row: torch.Tensor, masks: _Masks | None, i: int) -> int:
        """Draw the next token; under a grammar it is also consumed by the matcher."""
        if self._fault_seed is not None and self._fault_seed == seq.request.sampling.seed:
            self._inject_fault(seq)
        row = row.clone()
        seq.sampler.adjust(row)
        if self.tokenizer_size < self.vocab:  # embedding padding rows are no tokens
            row[self.tokenizer_size :] = float("-inf")
        constrained = masks is not None and seq.matcher is not None
        if constrained:
            assert masks is not None and seq.matcher is not None
            if not masks.nonempty[i]:
                seq.error = "the grammar allows no token here: " + seq.matcher.get_error()[:300]
                seq.error_code = "grammar_dead_end"
                return -1
            row.masked_fill_(~masks.allowed[i].to(row.device), float("-inf"))
        if seq.request.sampling.ignore_eos and not constrained:
            for eos in self.eos_ids:
                row[eos] = float("-inf")
        token = seq.sampler.draw(row)
        if seq.matcher is not None:
            token, error = commit(seq.matcher, self.lltok, row, token, seq.sampler.draw)
            if error is not None:
                seq.error, seq.error_code = error, "grammar_dead_end"
                return -1
        if seq.request.sampling.logprobs is not None:
            seq.pending_logprobs = self._logprobs(row, token, seq.request.sampling.logprobs)
        return token

    @staticmethod
    def _inject_fault(seq: _Sequence) -> None:
        """Test-only (STRICTCALL_INJECT_FAULT_SEED): fail as a bug in this request would."""
        if len(seq.output) >= 2:
            raise RuntimeError(f"injected fault ({FAULT_SEED_ENV})")

    def _logprobs(self, row: torch.Tensor, token: int, k: int) -> TokenLogprob:
        chosen, top = top_logprobs(row, token, k)
        text = self._text_of
        return TokenLogprob(
            token=text(token),
            logprob=chosen,
            bytes=list(self.token_bytes[token]),
            top=[(text(i), lp, list(self.token_bytes[i])) for i, lp in top],
        )

    def _text_of(self, token: int) -> str:
        return self.table.text_of(token)

    def _accept(self, seq: _Sequence, token: int) -> None:
        params = seq.request.sampling
        if token < 0:
            seq.finish = "error"
            self._emit(seq, [], "")
            return
        seq.output.append(token)
        seq.sampler.observe(token)
        self.stats["tokens"] += 1
        is_end = token in self.eos_ids and not params.ignore_eos
        if is_end or token in params.stop_token_ids:
            seq.finish = "stop"
            self._emit(seq, [token], seq.detok.flush())
            return
        text = seq.detok.push(token)
        if seq.matcher is not None and seq.matcher.is_stopped():
            seq.finish = "stop"  # the grammar is complete: nothing but the end may follow
        elif len(seq.output) >= params.max_tokens or (
            len(seq.request.prompt_ids) + len(seq.output) >= self.max_model_len
        ):
            seq.finish = "length"
        if seq.finish is not None:
            text += seq.detok.flush()
        seq.next_token = token
        self._emit(seq, [token], text)

    def _emit(self, seq: _Sequence, tokens: list[int], text: str) -> None:
        if seq.reported:
            return
        logprobs, seq.pending_logprobs = seq.pending_logprobs, None
        event = TokenEvent(
            token_ids=tokens,
            text=text,
            logprobs=[logprobs] if logprobs is not None and tokens else None,
            finish_reason=seq.finish,
            error=seq.error,
            error_code=seq.error_code,
            prompt_tokens=len(seq.request.prompt_ids),
            completion_tokens=len(seq.output),
        )
        if seq.finish is not None:
            seq.reported = True
            with self._count_lock:
                self._in_flight -= 1
        try:
            seq.handle.push(event)
        except RuntimeError:  # the request's event loop is closed: nobody is listening
            if seq.finish is None:
                seq.finish, seq.reported = "abort", True
                with self._count_lock:
                    self._in_flight -= 1


def _fault_seed_from_env() -> int | None:
    value = os.environ.get(FAULT_SEED_ENV)
    if not value:
        return None
    log.warning(
        "fault injection is on: requests with seed=%s will fail (%s)", value, FAULT_SEED_ENV
    )
    return int(value)


def _checkpoint_dtype(model: str) -> str | None:
    """The dtype a local checkpoint was saved in (config.json), if it says."""
    import json
    from pathlib import Path

    try:
        config = json.loads((Path(model) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    dtype = config.get("dtype") or config.get("torch_dtype")
    return dtype if isinstance(dtype, str) else None


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    return torch.device(name)


def _resolve_dtype(name: str, device: torch.device, model: str = "") -> torch.dtype:
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16
        # On a CPU with native bfloat16 (AVX512-BF16, AMX) a bfloat16 checkpoint decodes about
        # twice as fast as in float32; elsewhere bfloat16 is emulated and float32 is faster.
        if _checkpoint_dtype(model) == "bfloat16" and torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return torch.bfloat16
        return torch.float32
    try:
        return _DTYPES[name]
    except KeyError:
        raise SystemExit(f"--dtype must be one of auto, {', '.join(_DTYPES)}") from None
