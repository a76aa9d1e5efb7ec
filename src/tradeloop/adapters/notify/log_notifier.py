"""LogNotifier: every alert in the log and in the ``alerts`` table, and out through the
configured remote channels (webhook, Telegram)."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, insert

from tradeloop.adapters.notify.remote import Alert, RemoteAlerts
from tradeloop.adapters.store.schema import AlertRow
from tradeloop.domain.timestamps import ts
from tradeloop.ports import Clock

log = logging.getLogger("tradeloop.alerts")
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


class LogNotifier:
    """The Notifier port: log, database, remote channels; never raises."""

    def __init__(self, engine: Engine, clock: Clock, remote: RemoteAlerts | None = None,
                 deployment_id: int | None = None) -> None:
        self.engine, self.clock, self.remote = engine, clock, remote
        self.deployment_id = deployment_id
        self.count = 0

    def notify(self, level: str, title: str, message: str, symbol: str | None = None) -> None:
        prefix = f"[{symbol}] " if symbol else ""
        log.log(_LEVELS.get(level, logging.WARNING), "%s%s: %s", prefix, title, message)
        now = self.clock.now_ms()
        channels = ["log"]
        if self.remote is not None and self.remote.wants(level):
            channels += self.remote.names
            self.remote.send(Alert(level, title, message, symbol, now))
        self.count += 1
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(AlertRow).values(
                    timestamp=ts(now), severity=level, symbol=symbol,
                    message=f"{title}: {message}"[:2000], channels=",".join(channels),
                    deployment_id=self.deployment_id))
        except Exception as exc:  # an alert must never take the caller down
            log.error("could not store the alert: %s", exc)

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()
