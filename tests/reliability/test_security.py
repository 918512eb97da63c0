"""Security: the API key guards all of /v1 (and nothing else), is compared in constant time,
and is never logged; request content is not logged either."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from strictcall.api import middleware
from tests.conftest import Server

KEY = "sk-test-0123456789-very-secret"
CANARY = "canary-7f3a9c-do-not-log"


@pytest.fixture(scope="module")
def keyed_server(demo_model):
    # the most verbose level the server offers: still no key and no content in the log
    s = Server(demo_model, "--api-key", KEY, "--log-level", "debug")
    yield s
    s.stop()


def _get(url: str, key: str | None = None) -> tuple[int, dict | str]:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            body = r.read().decode()
            return r.status, body
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize(
    "path", ["/v1/models", "/v1/chat/completions", "/v1/responses", "/v1/no/such/route", "/v1"]
)
def test_everything_under_v1_needs_the_key(keyed_server, path):
    status, body = _get(keyed_server.url + path)
    assert status == 401, body
    assert body["error"]["code"] == "invalid_api_key"
    status, body = _get(keyed_server.url + path, key=KEY + "x")
    assert status == 401


@pytest.mark.parametrize("path", ["/health", "/metrics"])
def test_health_and_metrics_are_open(keyed_server, path):
    status, _ = _get(keyed_server.url + path)
    assert status == 200


def test_the_right_key_passes(keyed_server):
    status, body = _get(keyed_server.url + "/v1/models", key=KEY)
    assert status == 200 and json.loads(body)["data"]
    status, body = _get(keyed_server.url + "/v1/no/such/route", key=KEY)
    assert status == 404


def test_the_key_is_compared_in_constant_time(monkeypatch):
    calls = []
    real = middleware.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(middleware.hmac, "compare_digest", spy)
    assert middleware.key_matches("Bearer abc", b"abc")
    assert not middleware.key_matches("Bearer abd", b"abc")
    assert not middleware.key_matches("Basic abc", b"abc")
    assert len(calls) == 2  # every comparison of key material goes through compare_digest


def test_neither_the_key_nor_request_content_is_logged(keyed_server):
    client = keyed_server.client(api_key=KEY)
    client.chat.completions.create(
        model=keyed_server.model,
        messages=[{"role": "user", "content": CANARY}],
        max_tokens=3,
        tools=[{"type": "function", "function": {"name": "f", "description": CANARY}}],
    )
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do; what matters is the log
        client.chat.completions.create(
            model=keyed_server.model, messages=[{"role": "wizard", "content": CANARY}]
        )
    _get(keyed_server.url + "/v1/models", key=KEY + "-wrong")
    log = keyed_server.log.read_text()
    assert "/v1/chat/completions" in log  # the log is live at this level
    assert KEY not in log
    assert CANARY not in log
