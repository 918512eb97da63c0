"""`vllm serve` flags that strictcall takes so a copied vLLM launch command starts.

One table: each flag is honoured (it does what it does in vLLM), accepted (it has nothing to
change here; the reason is in --help and docs/api.md) or refused (one line naming it and why).
Flags that configure the vLLM engine itself (--tensor-parallel-size, ...) belong with the vLLM
engine (`--engine vllm`), not here.
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
