"""A loopback news server for the tests: an RSS 2.0 feed, an Atom feed and a fake
CryptoPanic ``/api/v1/posts/`` endpoint (token checked), with injectable faults per path
(HTTP statuses, a ``Retry-After``) and a log of the requests."""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def _rfc822(ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(ms / 1000, UTC))


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeNews:
    """``rss``/``atom``/``posts``: lists of dicts (title, link/url, published ms or None,
    summary, currencies); ``faults``: path -> statuses to answer before serving."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.rss: list[dict[str, Any]] = []
        self.atom: list[dict[str, Any]] = []
        self.posts: list[dict[str, Any]] = []
        self.faults: dict[str, deque[int]] = {}
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeNews:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fault(self, path: str, *statuses: int) -> None:
        self.faults.setdefault(path, deque()).extend(statuses)

    def _rss(self) -> bytes:
        items = "".join(
            f"<item><title>{i['title']}</title><link>{i['link']}</link>"
            f"<guid>{i['link']}</guid><description>{i.get('summary', '')}</description>"
            + (f"<pubDate>{_rfc822(i['published'])}</pubDate>" if i.get("published") else "")
            + "</item>" for i in self.rss)
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Fake Coin News'
                f'</title><link>{self.url}</link><description>test</description>{items}'
                f'</channel></rss>').encode()

    def _atom(self) -> bytes:
        entries = "".join(
            f"<entry><title>{i['title']}</title><link href=\"{i['link']}\"/>"
            f"<id>{i['link']}</id><updated>{_iso(i['published'])}</updated>"
            f"<summary>{i.get('summary', '')}</summary></entry>" for i in self.atom)
        return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/'
                f'Atom"><title>Fake Atom Wire</title><id>{self.url}/atom</id>'
                f'<updated>2024-01-01T00:00:00Z</updated>{entries}</feed>').encode()

    def _posts(self) -> bytes:
        return json.dumps({"count": len(self.posts), "results": [
            {"id": p["id"], "title": p["title"], "url": p.get("url", ""),
             "published_at": _iso(p["published"]) if p.get("published") else None,
             "currencies": [{"code": c} for c in p.get("currencies", [])]}
            for p in self.posts]}).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/xml",
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                fake.requests.append(parts.path)
                queue = fake.faults.get(parts.path)
                if queue:
                    status = queue.popleft()
                    self._send(status, b"fault", "text/plain",
                               {"Retry-After": "0"} if status == 429 else None)
                    return
                if parts.path == "/feed.xml":
                    self._send(200, fake._rss())
                elif parts.path == "/atom.xml":
                    self._send(200, fake._atom())
                elif parts.path == "/api/v1/posts/":
                    q = parse_qs(parts.query)
                    if q.get("auth_token") != [fake.token]:
                        self._send(401, b'{"status": "Incomplete", "info": "Token not found"}',
                                   "application/json")
                        return
                    self._send(200, fake._posts(), "application/json")
                elif parts.path == "/not-a-feed":
                    self._send(200, b"<html><body>hello</body></html>", "text/html")
                else:
                    self._send(404, b"not found", "text/plain")

        return Handler
