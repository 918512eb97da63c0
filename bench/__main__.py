"""`python -m bench [NAME ...] [--quick] [--threads N]`: run benchmarks, refresh the tables.

NAME is any of parse, grammar, decode, concurrency, forced (default: all, in that order);
`report` only redraws the parse and grammar plots and rebuilds bench/README.md's tables from
bench/results/ (nothing is measured).
"""

from __future__ import annotations

import argparse
import os
import time

NAMES = ("parse", "grammar", "decode", "concurrency", "forced")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join([*NAMES, "report"]))
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: on a small shared CPU more threads than free cores "
        "makes torch many times slower, and the engine's mask thread needs a core too)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: tiny plans, results not kept"
    )
    args = parser.parse_args(argv)
    names = args.names or list(NAMES)
    unknown = [n for n in names if n not in (*NAMES, "report")]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(NAMES)}, report")

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    from transformers.utils import logging as transformers_logging

    from bench import common, concurrency, decode, forced, grammar, models, parse, report

    torch.set_num_threads(args.threads)
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    if args.quick:
        common.RESULTS = common.RESULTS.parent / "results-quick"
        parse.SIZES, parse.REPEATS = (1024, 8192), 2
        grammar.TOOL_COUNTS, grammar.REPEATS, grammar.ROUNDS = (1, 10), 1, 1
        decode.PLAN = ((models.DEMO, 16, 2),)
        concurrency.PLAN = ((models.DEMO, 8, 1),)
        forced_args = ["--model", str(models.build(models.DEMO)), "--prompts", "2", "--rounds", "1"]
    else:
        forced_args = []
    runners = {
        "parse": parse.run,
        "grammar": grammar.run,
        "decode": lambda: decode.run(decode.PLAN),
        "concurrency": lambda: concurrency.run(concurrency.PLAN),
        "forced": lambda: forced.main([*forced_args, "--threads", str(args.threads)]),
    }
    for name in names:
        if name == "report":
            report.redraw()
            continue
        started = time.perf_counter()
        runners[name]()
        common.log(f"== {name}: {time.perf_counter() - started:.0f} s")
    if not args.quick:
        report.update()
        common.log(f"tables written to {report.README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
