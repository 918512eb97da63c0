"""`strictcall eval bfcl` end to end: the real server on the tiny random model, the command
run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from strictcall.eval.report import stem
from strictcall.eval.runner import run_bfcl

CATEGORIES = ["simple_python", "parallel", "live_multiple"]


def test_eval_bfcl_writes_table_json_and_png_and_every_call_is_valid(server, client, tmp_path):
    model = client.models.list().data[0].id  # the session's server: the tiny demo model
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "strictcall", "eval", "bfcl", "--base-url", server.url + "/v1"]
    cmd += ["--model", model, "--limit", "2", "--tool-choice", "required", "--output", str(out)]
    cmd += ["--categories", *CATEGORIES]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "overall" in done.stdout and "live_multiple" in done.stdout
    assert "6/6" in done.stderr  # the progress bar reached the end
    name = f"bfcl-{Path(model).name}-required"
    results = json.loads((out / f"{name}.json").read_text())
    assert stem(results) == name
    assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert list(results["categories"]) == CATEGORIES
    assert len(results["items"]) == results["overall"]["n"] == 6
    for name, s in results["categories"].items():
        mine = [r for r in results["items"] if r["category"] == name]
        assert s["n"] == len(mine) == 2
        assert s["correct"] == sum(r["correct"] for r in mine) <= s["n"]
        assert s["calls"] == sum(len(r["calls"]) for r in mine)
    overall = results["overall"]
    assert overall["correct"] == sum(s["correct"] for s in results["categories"].values())
    assert overall["errors"] == 0, overall["errors_by_kind"]
    # A random model's calls are still valid: the grammar decides what a call can be.
    assert overall["calls"] >= 1
    assert overall["valid_calls"] == overall["calls"]
    assert overall["validity"] == 1.0
    assert results["settings"]["tool_choice"] == "required"
    assert results["settings"]["temperature"] == 0.0


def test_a_server_refusing_every_request_is_a_run_of_counted_errors(server):
    results = run_bfcl(
        server.url + "/v1", "no-such-model", categories=["irrelevance"], limit=3, progress=False
    )
    assert results["overall"]["n"] == 3
    assert results["overall"]["errors_by_kind"] == {"http_404": 3}
    assert results["overall"]["correct"] == 0
    assert all("no-such-model" in r["error"]["message"] for r in results["items"])
