"""GET /playground in headless Chromium (Debian's `chromium` and `chromium-driver`), driving
the real server: the page sends a streaming chat completion and shows each call checked
against its tool's schema.

Set PLAYGROUND_SCREENSHOT=docs/playground.png to write the screenshot the docs show.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import jsonschema
import pytest

from tests.api.toolsets import FLIGHT, WEATHER
from tests.conftest import Server, tiny_model

NAME = "strictcall-demo"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def server():
    s = Server(tiny_model(), "--served-model-name", NAME)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1200,900")
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout: float = 120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def test_the_page_and_its_files_are_package_data(server):
    for path, kind in (
        ("/playground", "text/html"),
        ("/playground/playground.js", "text/javascript"),
        ("/playground/schema.js", "text/javascript"),
        ("/playground/playground.css", "text/css"),
    ):
        with urllib.request.urlopen(server.url + path) as r:
            assert r.headers["content-type"].startswith(kind)
            text = r.read().decode()
            assert "http://" not in text and "https://" not in text  # nothing from a CDN


def test_playground_streams_a_call_and_checks_it(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server.url + "/playground")
    _wait(browser, lambda d: NAME in d.find_element(By.ID, "model").text)
    tools = [WEATHER, FLIGHT]
    box = browser.find_element(By.ID, "tools")
    browser.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))",
        box,
        json.dumps(tools, indent=2),
    )
    Select(browser.find_element(By.ID, "tool-choice")).select_by_value("function:book.flight")
    parallel = browser.find_element(By.ID, "parallel")
    if parallel.is_selected():
        parallel.click()
    max_tokens = browser.find_element(By.ID, "max-tokens")
    max_tokens.clear()
    max_tokens.send_keys("400")
    for _ in range(3):  # a random model may run into max_tokens inside its call: send again
        browser.find_element(By.ID, "send").click()
        _wait(browser, lambda d: d.find_element(By.ID, "send").is_enabled())
        status = browser.find_element(By.ID, "status")
        if not status.text.startswith("Done: finish_reason length"):
            break
    assert status.text.startswith("Done: finish_reason tool_calls"), status.text
    cards = browser.find_elements(By.CSS_SELECTOR, ".call")
    assert len(cards) == 1
    card = cards[0]
    assert card.get_attribute("data-check") == "valid", card.text
    assert card.find_element(By.CSS_SELECTOR, ".name").text == "book.flight"
    assert "valid against its schema" in card.find_element(By.CSS_SELECTOR, ".check").text
    arguments = json.loads(card.find_element(By.CSS_SELECTOR, ".arguments").text)
    jsonschema.validate(arguments, FLIGHT["function"]["parameters"])  # the page was right
    shot = os.environ.get("PLAYGROUND_SCREENSHOT")
    if shot:
        browser.save_screenshot(shot)


def test_the_page_schema_check_is_honest(server, browser):
    """The page's own validator refuses what jsonschema refuses, and names what it skips."""
    browser.get(server.url + "/playground")
    _wait(browser, lambda d: d.execute_script("return !!window.strictcallSchema"))
    schema = FLIGHT["function"]["parameters"]
    cases = [
        ({"from": "SFO", "to": "JFK", "passengers": [{"name": "Ann", "age": 30}]}, True),
        ({"from": "SFO", "to": "JFK"}, False),  # passengers missing
        ({"from": "sfo", "to": "JFK", "passengers": [{"name": "A"}]}, False),  # pattern
        ({"from": "SFO", "to": "JFK", "passengers": []}, False),  # minItems
        ({"from": "SFO", "to": "JFK", "passengers": [{"name": "A", "age": 200}]}, False),
        ({"from": "SFO", "to": "JFK", "passengers": [{"name": "A"}], "class": "first"}, False),
        ({"from": "SFO", "to": "JFK", "passengers": [{"name": "A"}], "price": 0}, False),
    ]
    for instance, valid in cases:
        assert jsonschema.Draft202012Validator(schema).is_valid(instance) == valid
        result = browser.execute_script(
            "return window.strictcallSchema.validate(arguments[0], arguments[1])", schema, instance
        )
        assert (not result["errors"]) == valid, (instance, result)
        assert result["unchecked"] == []
    result = browser.execute_script(
        "return window.strictcallSchema.validate(arguments[0], 'x')",
        {"type": "string", "uniqueItems": True, "format": "hostname"},
    )
    assert sorted(result["unchecked"]) == ["$: format hostname", "$: uniqueItems"]
