"""A local web for the browser tests: pages, a slow page, a huge page, and Exa's search API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "test-exa-key"

PAGE = """<!doctype html><html><head><title>Paris weather</title>
<style>body { color: red }</style><script>var hidden = "do not show";</script></head>
<body><h1>Weather in Paris</h1><p>Today is sunny with a high of 21 degrees.</p>
<p>See the <a href="/forecast.html">weekly forecast</a> or <a href="https://example.org/x">elsewhere</a>.</p>
<ul><li>Monday: rain</li><li>Tuesday: clouds</li></ul></body></html>"""

FORECAST = "<html><head><title>Forecast</title></head><body><p>Wednesday: snow</p></body></html>"


class LocalWeb:
    """An HTTP server on a free loopback port, in a thread; records what it was asked."""

    def __init__(self) -> None:
        self.searches: list[dict] = []
        web = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: bytes, kind: str = "text/html") -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/page.html":
                    self._send(200, PAGE.encode())
                elif self.path == "/forecast.html":
                    self._send(200, FORECAST.encode())
                elif self.path == "/plain.txt":
                    self._send(200, b"line one\nline two\n", "text/plain; charset=utf-8")
                elif self.path == "/image.png":
                    self._send(200, b"\x89PNG....", "image/png")
                elif self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("location", "/page.html")
                    self.send_header("content-length", "0")
                    self.end_headers()
                elif self.path == "/slow":
                    time.sleep(5)
                    self._send(200, b"<p>late</p>")
                elif self.path == "/huge":
                    self.send_response(200)
                    self.send_header("content-type", "text/plain")
                    self.end_headers()
                    try:
                        for _ in range(100_000):
                            self.wfile.write(b"x" * 1023 + b"\n")
                    except OSError:
                        pass
                else:
                    self._send(404, b"not found")

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if self.path != "/search" or self.headers.get("x-api-key") != API_KEY:
                    self._send(401, b"{}", "application/json")
                    return
                web.searches.append(body)
                results = [
                    {"title": "Paris weather", "url": web.url + "/page.html", "text": "Sunny, 21"},
                    {"title": "Plain", "url": web.url + "/plain.txt", "text": "Two lines"},
                ][: body.get("numResults", 2)]
                self._send(200, json.dumps({"results": results}).encode(), "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
