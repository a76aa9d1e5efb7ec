"""Candles: one closed OHLCV bar, and a columnar batch of them for vectorised work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

PRICE_FIELDS = ("open", "high", "low", "close")
FIELDS = ("open_time", "open", "high", "low", "close", "volume")


class Candle(NamedTuple):
    """One closed candle; ``open_time`` is milliseconds since the epoch, UTC (a tuple: made
    on every candle close, at C speed)."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class SeriesKey(NamedTuple):
    """Identifies one candle series in the store (a tuple: hashed at C speed, as the engine
    looks series up on every candle)."""

    exchange: str
    symbol: str
    timeframe: str

    def __str__(self) -> str:
        return f"{self.exchange} {self.symbol} {self.timeframe}"


@dataclass(frozen=True)
class CandleArrays:
    """Columnar candles sorted by ``open_time`` (int64 ms) with float64 OHLCV columns."""

    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def empty(cls) -> CandleArrays:
        f = np.empty(0, dtype=np.float64)
        return cls(np.empty(0, dtype=np.int64), f, f.copy(), f.copy(), f.copy(), f.copy())

    @classmethod
    def from_columns(cls, **columns: np.ndarray) -> CandleArrays:
        """Build from named columns, coercing dtypes."""
        return cls(
            np.asarray(columns["open_time"], dtype=np.int64),
            *(np.asarray(columns[name], dtype=np.float64) for name in FIELDS[1:]),
        )

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    def take(self, index: np.ndarray | slice) -> CandleArrays:
        """Rows selected by a boolean mask, index array or slice."""
        return CandleArrays(*(getattr(self, name)[index] for name in FIELDS))

    def candle(self, i: int) -> Candle:
        return Candle(
            int(self.open_time[i]),
            *(float(getattr(self, name)[i]) for name in FIELDS[1:]),
        )

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in FIELDS}

