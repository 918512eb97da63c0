"""Scoring of what a server returned, and failures counted, never dropped."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from strictcall.eval.data import load_category
from strictcall.eval.dialect import to_openai_tools
from strictcall.eval.runner import Reply, run_bfcl, score, summarize
from tests.conftest import free_port


def _scored(calls: list[tuple[str, str]], category="simple_python", id_="simple_python_0"):
    it = next(i for i in load_category(category) if i.id == id_)
    tools, names = to_openai_tools(it.functions)
    return score(it, Reply(calls, None, "tool_calls", 0.1), tools, names)


def test_a_right_call_under_its_sent_name_is_scored_under_bfcls_name():
    r = _scored([("math_hcf", '{"number1": 36, "number2": 24}')], id_="simple_python_20")
    assert r["correct"] and r["error"] is None
    assert r["calls"] == [
        {"name": "math.hcf", "arguments": {"number1": 36, "number2": 24}, "valid": True, "why": ""}
    ]


def test_arguments_that_are_not_json_are_an_error_and_invalid():
    r = _scored([("calculate_triangle_area", '{"base": 10, "height": ')])
    assert not r["correct"]
    assert r["error"]["kind"] == "invalid_json"
    assert r["calls"][0]["valid"] is False
    r = _scored([("calculate_triangle_area", "[10, 5]")])
    assert r["error"]["kind"] == "invalid_json"


def test_validity_needs_a_declared_tool_and_schema_valid_arguments():
    r = _scored([("calculate_triangle_area", '{"base": "ten", "height": 5}')])
    assert not r["correct"] and r["error"] is None
    assert r["calls"][0]["valid"] is False and "schema" in r["calls"][0]["why"]
    r = _scored([("calculate_circle_area", '{"radius": 1}')])
    assert r["calls"][0]["valid"] is False and "no declared tool" in r["calls"][0]["why"]
    r = _scored([("calculate_triangle_area", '{"base": 11, "height": 5}')])
    assert r["calls"][0]["valid"] is True and not r["correct"]  # valid, and still wrong


def test_summary_counts_every_item():
    items = [
        _scored([("calculate_triangle_area", '{"base": 10, "height": 5}')]),
        _scored([("calculate_triangle_area", "{")]),
        _scored([]),
    ]
    s = summarize(items)
    assert (s["n"], s["correct"], s["calls"], s["valid_calls"], s["errors"]) == (3, 1, 2, 1, 1)
    assert s["accuracy"] == pytest.approx(1 / 3)
    assert s["validity"] == 0.5
    assert s["errors_by_kind"] == {"invalid_json": 1}


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts and never answers: what a hung server looks like."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_timeouts_and_refused_connections_are_counted_as_errors(silent_server):
    results = run_bfcl(
        silent_server,
        "m",
        categories=["simple_python", "irrelevance"],
        limit=2,
        progress=False,
        timeout=0.5,
    )
    assert results["overall"]["n"] == 4
    assert results["overall"]["errors_by_kind"] == {"timeout": 4}
    # An irrelevance question answered by a timeout is wrong, though no call came back.
    assert results["categories"]["irrelevance"]["correct"] == 0
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    results = run_bfcl(nobody, "m", categories=["parallel"], limit=3, progress=False)
    assert results["categories"]["parallel"]["errors_by_kind"] == {"connection": 3}
    assert len(results["items"]) == 3


def test_markdown_compares_runs_category_by_category():
    from strictcall.eval.report import markdown, table

    good = [_scored([("calculate_triangle_area", '{"base": 10, "height": 5}')])]
    bad = [_scored([("calculate_triangle_area", "{")])]

    def run(items):
        return {"categories": {"simple_python": summarize(items)}, "overall": summarize(items)}

    text = markdown([("on", run(good)), ("off", run(bad))])
    assert "| category | on | off |" in text
    assert "| simple_python (n=1) | 100.0% (100.0% valid) | 0.0% (0.0% valid, 1 err) |" in text
    results = {**run(bad), "items": bad}
    results["overall"]["mean_category_accuracy"] = 0.0
    assert "errors invalid_json: 1" in table(results)
