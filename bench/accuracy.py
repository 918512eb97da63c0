"""What the guarantee does to accuracy: BFCL on the real default model, grammar on and off.

`make eval` (or `python -m bench.accuracy`): the same engine and model served twice by
strictcall, with the grammar (`--constrain on`) and without it (`--constrain off`: the output is
only parsed, as servers without the guarantee do), each asked the same BFCL sample greedily in
`auto` and in `required` (irrelevance categories only in `auto`: under `required` a call is
always due). Writes bench/results/accuracy-<label>.json and .png, and prints a markdown table.

`--server-path DIR` serves from another checkout of strictcall (how the "before" column of the
README table was measured: the same commit with the accuracy fixes taken out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench import common
from strictcall.eval.data import CATEGORIES
from strictcall.eval.report import markdown, plot
from strictcall.eval.runner import run_bfcl
from strictcall.weights import DEFAULT_MODEL, pull
from tests.conftest import Server

IRRELEVANCE = ("irrelevance", "live_irrelevance")


def _serve(model: Path, constrain: str, server_path: str | None) -> Server:
    env, cwd = dict(os.environ), None
    if server_path:  # `python -m strictcall` imports from its working directory first
        cwd = str(Path(server_path).resolve())
        env["PYTHONPATH"] = cwd
    args = (
        "--constrain",
        constrain,
        "--max-model-len",
        "8192",
        "--served-model-name",
        DEFAULT_MODEL,
    )
    return Server(model.resolve(), *args, env=env, cwd=cwd)


def run(
    limit: int,
    label: str,
    server_path: str | None,
    concurrency: int,
    constrain: tuple[str, ...] = ("on", "off"),
) -> dict:
    model = pull(DEFAULT_MODEL, common.ROOT.parent / ".cache" / "models")
    runs: list[tuple[str, dict]] = []
    started = time.monotonic()
    for grammar in constrain:
        server = _serve(model, grammar, server_path)
        try:
            for choice in ("auto", "required"):
                cats = [c for c in CATEGORIES if choice == "auto" or c not in IRRELEVANCE]
                common.log(f"grammar {grammar}, tool_choice {choice}: {len(cats)} categories")
                results = run_bfcl(
                    server.url + "/v1",
                    DEFAULT_MODEL,
                    categories=cats,
                    limit=limit,
                    tool_choice=choice,
                    concurrency=concurrency,
                    max_tokens=256,
                    # a loaded 2-core machine queues requests for minutes: a timeout here would
                    # count the machine, not the model
                    timeout=3600,
                )
                runs.append((f"grammar {grammar}, {choice}", results))
        finally:
            server.stop()
    data = {
        "label": label,
        "model": DEFAULT_MODEL,
        "per_category": limit,
        "seconds": time.monotonic() - started,
        "machine": common.machine(),
        "runs": {name: {k: r[k] for k in ("categories", "overall")} for name, r in runs},
    }
    out = common.RESULTS / f"accuracy-{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1))
    plot(runs, out.with_suffix(".png"))
    print(markdown(runs))
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__)
    p.add_argument("--limit", type=int, default=4, help="questions per category (default 4)")
    p.add_argument("--label", default="after", help="names the result files")
    p.add_argument("--server-path", help="serve from this checkout of strictcall")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--constrain", default="on,off", help="grammar settings to run (on,off)")
    args = p.parse_args(argv)
    constrain = tuple(c for c in args.constrain.split(",") if c)
    run(args.limit, args.label, args.server_path, args.concurrency, constrain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
