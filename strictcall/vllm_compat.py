"""`vllm serve` flags that strictcall takes so a copied vLLM launch command starts.

One table: each flag is honoured (it does what it does in vLLM), accepted (it has nothing to
change here; the reason is in --help and docs/api.md) or refused (one line naming it and why).
A second table, ENGINE_FLAGS, holds the flags that configure the vLLM engine itself
(--tensor-parallel-size, ...): with `--engine vllm` they pass through to the vLLM that strictcall
starts (docs/engines.md); with the embedded engine each is a one-line error saying so.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["honoured", "accepted", "refused"]


@dataclass(frozen=True)
class CompatFlag:
    name: str
    kind: Kind
    why: str  # what it does here, or why it changes nothing, or why it is refused
    takes: Literal["flag", "value", "int"] = "flag"
    default: Any = None


FLAGS: tuple[CompatFlag, ...] = (
    CompatFlag(
        "--reasoning-parser",
        "accepted",
        "reasoning is read by the tool-call format (--tool-format), which knows its markers",
        "value",
    ),
    CompatFlag(
        "--seed",
        "honoured",
        "seeds the random state that requests without a seed draw from",
        "int",
    ),
    CompatFlag(
        "--generation-config",
        "honoured",
        "'auto' (vLLM's default) or 'vllm': end-of-sequence tokens come from the model's "
        "generation_config.json and sampling defaults are OpenAI's; a folder is refused",
        "value",
        "auto",
    ),
    CompatFlag(
        "--uvicorn-log-level",
        "honoured",
        "the HTTP server's log level (default: --log-level)",
        "value",
    ),
    CompatFlag("--disable-uvicorn-access-log", "honoured", "no access log line per request"),
    CompatFlag(
        "--response-role",
        "honoured",
        "the role of generated messages: only 'assistant' is supported",
        "value",
        "assistant",
    ),
    CompatFlag(
        "--disable-log-requests",
        "accepted",
        "request contents are never logged here",
    ),
    CompatFlag("--enable-log-requests", "accepted", "request contents are never logged here"),
    CompatFlag("--max-log-len", "accepted", "request contents are never logged here", "int"),
    CompatFlag(
        "--disable-log-stats",
        "accepted",
        "no periodic stats are logged; they are on /metrics",
    ),
    CompatFlag(
        "--enable-prompt-tokens-details",
        "accepted",
        "there is no prefix cache, so cached prompt tokens are always 0",
    ),
    CompatFlag("--disable-fastapi-docs", "honoured", "no /docs, /redoc or /openapi.json pages"),
    CompatFlag(
        "--return-tokens-as-token-ids",
        "refused",
        "logprobs name tokens by their text; 'token_id:N' strings are not implemented",
    ),
)


def dest(flag: CompatFlag) -> str:
    return flag.name.lstrip("-").replace("-", "_")


def add_compat_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("vLLM compatibility (docs/api.md lists what each does here)")
    for f in FLAGS:
        help_text = f"[{f.kind}] {f.why}"
        if f.takes == "flag":
            g.add_argument(f.name, action="store_true", help=help_text)
        else:
            kind = int if f.takes == "int" else str
            g.add_argument(f.name, type=kind, default=f.default, help=help_text)


def compat_problem(args: argparse.Namespace) -> str | None:
    """One line naming a vLLM flag given here that cannot be honoured, or None."""
    for f in FLAGS:
        value = getattr(args, dest(f))
        if f.kind == "refused" and value not in (None, False):
            return f"{f.name} is not supported: {f.why}"
    if args.response_role != "assistant":
        return f"--response-role {args.response_role!r} is not supported: only 'assistant'"
    if args.generation_config not in ("auto", "vllm"):
        return (
            f"--generation-config {args.generation_config!r} is not supported: use 'auto' "
            "(the model's own generation_config.json) or 'vllm'"
        )
    return None


@dataclass(frozen=True)
class EngineFlag:
    name: str
    takes: Literal["flag", "value"] = "value"
    short: str | None = None


# vLLM engine flags: passed to vLLM as written with --engine vllm. Any other flag strictcall does
# not know is passed through too with --engine vllm. Never passed: --tool-call-parser and
# --reasoning-parser (strictcall's own), --chat-template, --served-model-name, --api-key.
ENGINE_FLAGS: tuple[EngineFlag, ...] = (
    EngineFlag("--tensor-parallel-size", short="-tp"),
    EngineFlag("--pipeline-parallel-size", short="-pp"),
    EngineFlag("--data-parallel-size", short="-dp"),
    EngineFlag("--distributed-executor-backend"),
    EngineFlag("--gpu-memory-utilization"),
    EngineFlag("--max-num-batched-tokens"),
    EngineFlag("--enable-prefix-caching", "flag"),
    EngineFlag("--quantization", short="-q"),
    EngineFlag("--kv-cache-dtype"),
    EngineFlag("--enforce-eager", "flag"),
    EngineFlag("--revision"),
    EngineFlag("--download-dir"),
    EngineFlag("--block-size"),
    EngineFlag("--swap-space"),
    EngineFlag("--cpu-offload-gb"),
    EngineFlag("--load-format"),
    EngineFlag("--max-logprobs"),
)
# strictcall's own flags that mean the same to vLLM: passed on with --engine vllm
_SHARED = (("--max-model-len", "max_model_len"), ("--max-num-seqs", "max_num_seqs"))


def engine_dest(flag: EngineFlag) -> str:
    return "vllm_" + flag.name.lstrip("-").replace("-", "_")


def add_engine_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("vLLM engine flags (need --engine vllm; passed to vLLM as written)")
    for f in ENGINE_FLAGS:
        names = [f.name, f.short] if f.short else [f.name]
        if f.takes == "flag":
            g.add_argument(*names, dest=engine_dest(f), action="store_true", help="vLLM's own")
        else:
            g.add_argument(*names, dest=engine_dest(f), metavar="VALUE", help="vLLM's own")


def _given(args: argparse.Namespace) -> list[EngineFlag]:
    return [f for f in ENGINE_FLAGS if getattr(args, engine_dest(f)) not in (None, False)]


def engine_problem(args: argparse.Namespace, extra: list[str]) -> str | None:
    """One line naming a vLLM engine flag that the chosen engine cannot take, or None."""
    given = _given(args)
    if args.engine == "embedded" and given:
        return f"{given[0].name} configures vLLM: it needs --engine vllm (docs/engines.md)"
    if args.engine == "embedded" and args.engine_url:
        return "--engine-url names a vLLM server: it needs --engine vllm (or no --engine)"
    if args.engine_url and (given or extra):
        name = given[0].name if given else extra[0]
        return (
            f"{name} configures vLLM, and --engine-url uses a vLLM server that already runs: "
            "pass it to that server's `vllm serve` instead"
        )
    return None


def vllm_args(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The argv for the vLLM that strictcall starts: the engine flags given, the shared ones,
    and every flag strictcall does not know (`extra`), as written."""
    out: list[str] = []
    for f in _given(args):
        value = getattr(args, engine_dest(f))
        out += [f.name] if f.takes == "flag" else [f.name, str(value)]
    for name, attr in _SHARED:
        if getattr(args, attr, None) is not None:
            out += [name, str(getattr(args, attr))]
    if args.dtype != "auto":
        out += ["--dtype", args.dtype]
    if args.trust_remote_code:
        out.append("--trust-remote-code")
    if args.seed is not None:
        out += ["--seed", str(args.seed)]
    return out + list(extra)
