"""Alerts sent out of the process: a JSON webhook and Telegram's Bot API.

Sending happens on a background thread so a slow or dead endpoint never stalls the trading
loop; each alert is tried a few times, failures are logged (never raised). The webhook URL
and the bot token are secrets: they never appear in logs or errors.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("tradeloop.alerts")
LEVELS = {"info": 0, "warning": 1, "critical": 2}
ICONS = {"info": "ℹ️", "warning": "⚠️", "critical": "🔴"}


@dataclass(frozen=True)
class Alert:
    level: str
    title: str
    message: str
    symbol: str | None
    time_ms: int


class Channel:
    """One destination: a name and how to turn an alert into an HTTP POST."""

    name = "channel"

    def request(self, alert: Alert) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError


class WebhookChannel(Channel):
    """POSTs ``{"level", "title", "message", "symbol", "time_ms", "text"}`` as JSON (Slack
    and Mattermost incoming webhooks show ``text``)."""

    name = "webhook"

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, alert: Alert) -> tuple[str, dict[str, Any]]:
        prefix = f"[{alert.symbol}] " if alert.symbol else ""
        return self.url, {"level": alert.level, "title": alert.title, "message": alert.message,
                          "symbol": alert.symbol, "time_ms": alert.time_ms,
                          "text": f"{ICONS.get(alert.level, '')} {prefix}{alert.title}: "
                                  f"{alert.message}"}


class TelegramChannel(Channel):
    """Telegram Bot API ``sendMessage`` to one chat."""

    name = "telegram"

    def __init__(self, token: str, chat_id: str, api_url: str) -> None:
        self.url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self.chat_id = chat_id

    def request(self, alert: Alert) -> tuple[str, dict[str, Any]]:
        prefix = f"[{alert.symbol}] " if alert.symbol else ""
        text = f"{ICONS.get(alert.level, '')} tradeloop {alert.level.upper()}\n" \
               f"{prefix}{alert.title}: {alert.message}"
        return self.url, {"chat_id": self.chat_id, "text": text[:4000]}


class RemoteAlerts:
    """Sends alerts at or above ``min_level`` to every channel, off the caller's thread."""

    def __init__(self, channels: list[Channel], *, min_level: str = "warning",
                 timeout_seconds: float = 5.0, attempts: int = 3) -> None:
        self.channels = channels
        self.min_level = LEVELS[min_level]
        self.timeout, self.attempts = timeout_seconds, attempts
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[Alert | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    def wants(self, level: str) -> bool:
        return bool(self.channels) and LEVELS.get(level, 1) >= self.min_level

    def send(self, alert: Alert) -> None:
        if not self.wants(alert.level):
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
            self._thread.start()
        self._queue.put(alert)

    def close(self, wait_seconds: float = 10.0) -> None:
        """Deliver what is queued (up to ``wait_seconds``) and stop the sender."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(wait_seconds)
            self._thread = None

    def _run(self) -> None:
        while (alert := self._queue.get()) is not None:
            for channel in self.channels:
                self._deliver(channel, alert)

    def _deliver(self, channel: Channel, alert: Alert) -> None:
        url, body = channel.request(alert)
        if not url.startswith(("https://", "http://")):  # never file: or custom schemes
            log.warning("alert channel URL must be http(s); %s not sent", alert.title)
            return
        data = json.dumps(body).encode()
        for attempt in range(1, self.attempts + 1):
            req = urllib.request.Request(url, data=data, method="POST",  # noqa: S310
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                    resp.read()
                self.sent += 1
                return
            except urllib.error.HTTPError as exc:
                reason = f"HTTP {exc.code}"
                if 400 <= exc.code < 500 and exc.code != 429:
                    break  # our request is wrong: retrying will not help
            except (urllib.error.URLError, OSError) as exc:
                reason = type(exc).__name__
            time.sleep(min(2.0, 0.25 * 2 ** attempt))
        self.failed += 1
        log.error("alert not delivered via %s after %d attempts (%s): %s", channel.name,
                  attempt, reason, alert.title)
