"""The peer's figure: xgrammar compiling the same BFCL tools, in the same run.

vLLM hands xgrammar one JSON Schema for `tool_choice: required`: an array of at least one
object whose `name` is one of the tools and whose `parameters` follow that tool's schema. That
schema is compiled here for the same tool counts and vocabulary as bench/grammar.py, cold (a
compiler with its cache off) and again (a compiler whose cache holds it), each up to the first
token bitmask. `make bench` installs xgrammar without its dependencies (`--no-deps`): it runs
on CPU (its dependency on triton is only for GPU kernels). One compile thread, as llguidance's
compile has.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

from bench import bfcl, common


def required_schema(tools: list[dict]) -> dict:
    """The schema vLLM writes for `tool_choice: required` from OpenAI tools."""
    return {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "anyOf": [
                {
                    "properties": {
                        "name": {"type": "string", "enum": [t["function"]["name"]]},
                        "parameters": t["function"]["parameters"],
                    },
                    "required": ["name", "parameters"],
                }
                for t in tools
            ],
        },
    }


def run(hf_tokenizer: Any, counts: tuple[int, ...], samples: int) -> dict[str, Any] | None:
    try:
        import xgrammar as xgr
    except ImportError:
        common.log("grammar: xgrammar is not installed; no peer figure")
        return None
    vocab = len(hf_tokenizer)
    with common.Timer() as t_info:
        info = xgr.TokenizerInfo.from_huggingface(hf_tokenizer, vocab_size=vocab)
    cold_compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
    warm_compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=True)
    bitmask = xgr.allocate_token_bitmask(1, vocab)
    tools = bfcl.tools()

    def first_mask(compiler: Any, text: str) -> common.Timer:
        with common.Timer() as t:
            compiled = compiler.compile_json_schema(text, any_whitespace=False)
            xgr.GrammarMatcher(compiled).fill_next_token_bitmask(bitmask)
        return t

    rows = []
    first_mask(cold_compiler, json.dumps(required_schema(tools[:1])))  # warm up
    for n in counts:
        text = json.dumps(required_schema(tools[:n]))
        cold = [first_mask(cold_compiler, text) for _ in range(samples)]
        again = []
        for _ in range(samples):
            warm_compiler.clear_cache()
            first_mask(warm_compiler, text)
            again.append(first_mask(warm_compiler, text))
        rows.append(
            {
                "tools": n,
                "first_mask_ms": common.median([t.s for t in cold]) * 1e3,
                "first_mask_ms_p99": common.percentile([t.s for t in cold], 99) * 1e3,
                "first_mask_cpu_ms": common.median([t.cpu for t in cold]) * 1e3,
                "repeat_ms": common.median([t.s for t in again]) * 1e3,
                "repeat_cpu_ms": common.median([t.cpu for t in again]) * 1e3,
            }
        )
        common.log(
            f"grammar xgrammar {n:3d} tools required: first mask {rows[-1]['first_mask_ms']:6.1f}"
            f" ms (cpu {rows[-1]['first_mask_cpu_ms']:6.1f}); again {rows[-1]['repeat_ms']:5.2f}"
        )
    return {
        "version": getattr(xgr, "__version__", None) or metadata.version("xgrammar"),
        "vocab": vocab,
        "tokenizer_setup_ms": t_info.s * 1e3,
        "threads": 1,
        "rows": rows,
    }
