"""A real HTTP server on 127.0.0.1 for connector tests: routes are plain functions, and every
request is recorded (path, query, headers, arrival time) for the test to inspect."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # the status line's reason phrase (None: the standard one)


def json_reply(data: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status, json.dumps(data), {"Content-Type": "application/json", **headers})


def html_reply(html: str, status: int = 200) -> Reply:
    return Reply(status, html, {"Content-Type": "text/html; charset=utf-8"})


Route = Callable[[Seen], Reply]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                request = Seen(parts.path, query, dict(self.headers.items()), time.monotonic())
                server.seen.append(request)
                route = server.routes.get(parts.path)
                reply = route(request) if route else Reply(404, "not found")
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status, reply.reason)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
