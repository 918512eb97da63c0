"""The browser tool against a real local web server (and Exa's API, served locally)."""

from __future__ import annotations

import asyncio

import pytest

from strictcall.tools.browser import Browser, BrowserConfig
from strictcall.tools.netguard import BlockedAddress, check_url
from strictcall.tools.search import ExaBackend, NoBackend, backend_from_env
from tests.tools.web import API_KEY, LocalWeb


@pytest.fixture(scope="module")
def web():
    w = LocalWeb()
    yield w
    w.close()


def browse(web, **config) -> Browser:
    config.setdefault("allow_private", True)
    return Browser(ExaBackend(API_KEY, web.url), BrowserConfig(**config))


def test_search_open_a_result_follow_a_link_and_find(web):
    async def main():
        b = browse(web)
        found = await b.search("paris weather", 2)
        assert found.error is None
        assert "【0†Paris weather†127.0.0.1" in found.text
        assert web.searches[-1]["query"] == "paris weather"
        assert found.details["action"]["sources"][0]["url"].endswith("/page.html")

        page = await b.call("browser.open", {"id": 0})
        assert page.error is None, page.text
        assert "Today is sunny with a high of 21 degrees." in page.text
        assert "do not show" not in page.text and "color: red" not in page.text
        assert "【0†weekly forecast】" in page.text
        assert page.text.startswith("[1] Paris weather(")

        forecast = await b.call("browser.open", {"id": 0, "cursor": 1})
        assert "Wednesday: snow" in forecast.text

        hit = await b.call("browser.find", {"pattern": "RAIN", "cursor": 1})
        assert "Monday: rain" in hit.text
        assert hit.details["action"]["type"] == "find_in_page"
        miss = await b.call("browser.find", {"pattern": "hurricane", "cursor": 1})
        assert "No `hurricane` found" in miss.text

    asyncio.run(main())


def test_open_by_url_follows_redirects_and_reads_plain_text(web):
    async def main():
        b = browse(web)
        page = await b.call("browser.open", {"id": web.url + "/redirect"})
        assert "Weather in Paris" in page.text
        assert page.details["action"] == {"type": "open_page", "url": web.url + "/page.html"}
        plain = await b.call("browser.open", {"id": web.url + "/plain.txt"})
        assert "L1: line two" in plain.text

    asyncio.run(main())


def test_private_addresses_are_refused_unless_allowed(web):
    async def main():
        b = browse(web, allow_private=False)
        r = await b.call("browser.open", {"id": web.url + "/page.html"})
        assert r.error and "private or local address" in r.error
        with pytest.raises(BlockedAddress):
            await check_url("http://10.1.2.3/", allow_private=False)
        with pytest.raises(BlockedAddress):
            await check_url("http://[::ffff:127.0.0.1]:80/", allow_private=False)
        with pytest.raises(BlockedAddress):
            await check_url("file:///etc/passwd", allow_private=True)
        await check_url("http://127.0.0.1:1/", allow_private=True)

    asyncio.run(main())


def test_size_time_and_type_limits(web):
    async def main():
        b = browse(web, max_bytes=64 * 1024, timeout=1.5)
        huge = await b.call("browser.open", {"id": web.url + "/huge", "loc": 440})
        assert huge.error is None
        assert huge.text.rstrip().endswith(f"[page cut at {64 * 1024} bytes]")
        assert "of 448**" in huge.text  # 64 lines of 1 KiB, each wrapped in 7
        slow = await b.call("browser.open", {"id": web.url + "/slow"})
        assert slow.error and "did not answer within 1.5s" in slow.error
        image = await b.call("browser.open", {"id": web.url + "/image.png"})
        assert image.error and "image/png, not text" in image.error
        missing = await b.call("browser.open", {"id": web.url + "/nope"})
        assert missing.error and "HTTP 404" in missing.error

    asyncio.run(main())


def test_errors_come_back_as_results_not_exceptions(web):
    async def main():
        b = Browser(NoBackend(), BrowserConfig())
        r = await b.call("browser.search", {"query": "x"})
        assert r.error and "EXA_API_KEY" in r.error
        r = await b.call("browser.find", {"pattern": "x"})
        assert r.error and "no page is open" in r.error
        bad_key = Browser(ExaBackend("wrong", web.url), BrowserConfig())
        r = await bad_key.call("browser.search", {"query": "x"})
        assert r.error and "HTTP 401" in r.error

    asyncio.run(main())


def test_backend_from_env_picks_exa_only_with_a_key():
    assert backend_from_env({}).name == "none"
    exa = backend_from_env({"EXA_API_KEY": "k", "EXA_BASE_URL": "http://x"})
    assert exa.name == "exa" and exa.base_url == "http://x"
    with pytest.raises(ValueError, match="unknown search backend"):
        backend_from_env({"STRICTCALL_SEARCH_BACKEND": "nope"})
