"""Alerts: log + alerts table always; webhook and Telegram against a loopback HTTP server."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.fakes import FakeClock
from tradeloop.app import notifier_for, open_store
from tradeloop.settings import load_settings

TOKEN = "123456:SECRET-bot-token"
HOOK_PATH = "/hooks/T0/SECRET-path"


class Receiver:
    """A loopback HTTP server that records POSTs; ``fail`` answers the next N with 500."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.fail = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.posts.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def test_webhook_and_telegram_delivery(tmp_path: Path, receiver: Receiver,
                                       caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "config.yaml").write_text(
        f"alerts: {{telegram_chat_id: '-100777', telegram_api_url: '{receiver.url}'}}\n")
    settings = load_settings(tmp_path / "config.yaml",
                             env={"ALERT_WEBHOOK_URL": receiver.url + HOOK_PATH,
                                  "TELEGRAM_BOT_TOKEN": TOKEN})
    store = open_store(settings)
    clock = FakeClock(1_700_000_000_000)
    receiver.fail = 1  # the first delivery attempt fails and is retried
    caplog.set_level(logging.INFO)
    notifier = notifier_for(settings, store.engine, clock, deployment_id=7)
    notifier.notify("critical", "Max drawdown halt", "drawdown 15.2% >= 15%", "BTC/USDT")
    notifier.notify("info", "Health check recovered: uptime", "passing again")  # below min
    notifier.close()
    paths = sorted(p for p, _ in receiver.posts)
    assert paths == sorted([HOOK_PATH, f"/bot{TOKEN}/sendMessage"])
    hook = next(b for p, b in receiver.posts if p == HOOK_PATH)
    assert hook["level"] == "critical" and hook["symbol"] == "BTC/USDT"
    assert hook["text"] == "🔴 [BTC/USDT] Max drawdown halt: drawdown 15.2% >= 15%"
    tg = next(b for p, b in receiver.posts if p != HOOK_PATH)
    assert tg["chat_id"] == "-100777" and "CRITICAL" in tg["text"]
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT severity, channels, deployment_id, message FROM alerts "
                                 "ORDER BY id")).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [("critical", "log,webhook,telegram", 7),
                                                  ("info", "log", 7)]
    assert "SECRET" not in caplog.text  # neither the bot token nor the webhook path is logged
    store.close()


def test_unreachable_endpoint_never_raises(tmp_path: Path, receiver: Receiver,
                                           caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "config.yaml").write_text("alerts: {timeout_seconds: 1}\n")
    settings = load_settings(tmp_path / "config.yaml",
                             env={"ALERT_WEBHOOK_URL": receiver.url + HOOK_PATH})
    store = open_store(settings)
    receiver.fail = 10
    notifier = notifier_for(settings, store.engine, FakeClock(0))
    assert notifier.remote is not None
    notifier.remote.attempts = 2
    notifier.notify("warning", "Stale market data", "1m: 3 candles missing", "ETH/USDT")
    notifier.close()
    assert receiver.posts == [] and notifier.remote.failed == 1
    assert "alert not delivered via webhook after 2 attempts (HTTP 500)" in caplog.text
    assert "SECRET" not in caplog.text
    store.close()


def test_no_channels_without_secrets(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("alerts: {telegram_chat_id: '1'}\n")
    settings = load_settings(tmp_path / "config.yaml", env={})
    store = open_store(settings)
    assert notifier_for(settings, store.engine, FakeClock(0)).remote is None
    store.close()


def test_a_webhook_that_is_not_http_is_never_opened(tmp_path: Path, receiver: Receiver,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    (tmp_path / "config.yaml").write_text("alerts: {timeout_seconds: 1}\n")
    settings = load_settings(tmp_path / "config.yaml",
                             env={"ALERT_WEBHOOK_URL": f"file://{secret}"})
    store = open_store(settings)
    notifier = notifier_for(settings, store.engine, FakeClock(0))
    assert notifier.remote is not None
    notifier.notify("critical", "Max drawdown halt", "halted")
    notifier.close()
    assert notifier.remote.sent == 0 and "must be http(s)" in caplog.text
    store.close()
