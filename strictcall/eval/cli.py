"""`strictcall eval bfcl`: tool-call accuracy of any OpenAI-compatible server."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from strictcall.eval.data import ALL_CATEGORIES, CATEGORIES, EXTRA_CATEGORIES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure tool-call accuracy of an OpenAI-compatible server")
    benchmarks = p.add_subparsers(dest="benchmark", required=True)
    b = benchmarks.add_parser(
        "bfcl",
        help="BFCL v4 single-turn categories, scored as its AST checker does (docs/eval.md)",
    )
    b.add_argument("--base-url", required=True, help="the server's OpenAI base URL, e.g. .../v1")
    b.add_argument("--model", required=True, help="the model name the server knows")
    b.add_argument(
        "--categories",
        nargs="+",
        default=list(CATEGORIES),
        choices=ALL_CATEGORIES,
        metavar="CATEGORY",
        help=f"default: {' '.join(CATEGORIES)}; also: {' '.join(EXTRA_CATEGORIES)}",
    )
    b.add_argument("--limit", type=int, help="the first N questions of each category")
    b.add_argument("--tool-choice", default="auto", choices=["auto", "required"])
    b.add_argument("--parallel-tool-calls", choices=["true", "false"], help="default: not sent")
    b.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    b.add_argument("--temperature", type=float, default=0.0)
    b.add_argument(
        "--max-tokens", type=int, default=512, help="per reply (default 512; 0: not sent)"
    )
    b.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    b.add_argument(
        "--api-key",
        default=os.environ.get("OPENAI_API_KEY"),
        help="Bearer key (default: $OPENAI_API_KEY)",
    )
    b.add_argument(
        "--data",
        type=Path,
        help="a BFCL v4 data directory (BFCL_v4_*.json, possible_answer/); "
        "default: the sample shipped with strictcall (20 questions per category)",
    )
    b.add_argument(
        "--output", type=Path, default=Path("eval-results"), help="where JSON and PNG go"
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def main(args: argparse.Namespace) -> int:
    from strictcall.eval.report import plot, stem, table, write_json
    from strictcall.eval.runner import run_bfcl

    if args.limit is not None and args.limit < 1:
        print("strictcall: --limit must be at least 1", file=sys.stderr)
        return 2
    parallel = None if args.parallel_tool_calls is None else args.parallel_tool_calls == "true"
    try:
        results = run_bfcl(
            args.base_url,
            args.model,
            categories=args.categories,
            limit=args.limit,
            tool_choice=args.tool_choice,
            concurrency=args.concurrency,
            data_dir=args.data,
            progress=not args.no_progress,
            temperature=args.temperature,
            max_tokens=args.max_tokens or None,
            parallel_tool_calls=parallel,
            timeout=args.timeout,
            api_key=args.api_key,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"strictcall: {exc}", file=sys.stderr)
        return 2
    print(table(results))
    name = stem(results)
    print(f"\nresults: {write_json(results, args.output / f'{name}.json')}")
    try:
        print(f"plot:    {plot([(args.tool_choice, results)], args.output / f'{name}.png')}")
    except RuntimeError as exc:
        print(f"plot:    not written ({exc})", file=sys.stderr)
    return 0
