"""Ports: the interfaces the engine and services depend on. Adapters implement them."""

from __future__ import annotations

from typing import Protocol

from tradeloop.domain.candles import CandleArrays, SeriesKey


class Clock(Protocol):
    """The only source of 'now' (milliseconds since the epoch, UTC)."""

    def now_ms(self) -> int: ...

    def sleep(self, seconds: float) -> None: ...


class CandleSource(Protocol):
    """Fetches closed candles of one series from a market (an exchange, a file)."""

    def fetch(self, key: SeriesKey, since_ms: int, limit: int) -> CandleArrays: ...
