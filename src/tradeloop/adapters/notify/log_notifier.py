"""LogNotifier: every alert in the log and in the ``alerts`` table."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, insert

from tradeloop.adapters.store.schema import AlertRow
from tradeloop.adapters.store.trading_store import ts
from tradeloop.ports import Clock

log = logging.getLogger("tradeloop.alerts")
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


class LogNotifier:
    """The Notifier port for the log and the database; never raises."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock

    def notify(self, level: str, title: str, message: str, symbol: str | None = None) -> None:
        prefix = f"[{symbol}] " if symbol else ""
        log.log(_LEVELS.get(level, logging.WARNING), "%s%s: %s", prefix, title, message)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(AlertRow).values(
                    timestamp=ts(self.clock.now_ms()), severity=level, symbol=symbol,
                    message=f"{title}: {message}"[:2000], channels="log"))
        except Exception as exc:  # an alert must never take the caller down
            log.error("could not store the alert: %s", exc)
