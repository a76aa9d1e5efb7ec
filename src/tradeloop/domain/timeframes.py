"""Candle timeframes (``1m`` ... ``1w``) and their alignment on the UTC time grid."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

import numpy as np

from tradeloop.domain.errors import UnknownTimeframeError

MINUTE_MS = 60_000
_UNIT_MS = {
    "m": MINUTE_MS,
    "h": 60 * MINUTE_MS,
    "d": 24 * 60 * MINUTE_MS,
    "w": 7 * 24 * 60 * MINUTE_MS,
}
# Exchanges open weekly candles on Monday 00:00 UTC; the Unix epoch was a Thursday.
_WEEK_OFFSET_MS = 4 * _UNIT_MS["d"]

SUPPORTED = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w")
DEFAULT_TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
_PATTERN = re.compile(r"^(\d+)([mhdw])$")


@total_ordering
@dataclass(frozen=True, slots=True)
class Timeframe:
    """A candle duration such as ``5m`` or ``4h``; ordered by length."""

    name: str
    ms: int

    @classmethod
    def parse(cls, text: str | Timeframe) -> Timeframe:
        """Parse ``"4h"`` into a Timeframe; raise UnknownTimeframeError for anything else."""
        if isinstance(text, Timeframe):
            return text
        name = str(text).strip()
        match = _PATTERN.match(name)
        if name not in SUPPORTED or match is None:
            raise UnknownTimeframeError(
                f"unknown timeframe {text!r}; expected one of {', '.join(SUPPORTED)}"
            )
        return cls(name, int(match.group(1)) * _UNIT_MS[match.group(2)])

    @property
    def offset_ms(self) -> int:
        """Grid offset from the epoch (non-zero only for weekly candles)."""
        return _WEEK_OFFSET_MS if self.name.endswith("w") else 0

    def floor(self, ts_ms: int) -> int:
        """Open time of the candle containing ``ts_ms``."""
        return ((ts_ms - self.offset_ms) // self.ms) * self.ms + self.offset_ms

    def closed_by(self, until_ms: int) -> int:
        """Exclusive open-time bound of the candles that have closed by ``until_ms``: a
        candle opened at ``t`` closes at ``t + ms``, so a retrain at 13:05 gets the 1h candle
        of 12:00 but never the still-open one of 13:00."""
        return until_ms - self.ms + 1

    def floor_array(self, ts_ms: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`floor`."""
        return ((ts_ms - self.offset_ms) // self.ms) * self.ms + self.offset_ms

    def is_aligned(self, ts_ms: np.ndarray) -> np.ndarray:
        """True where a timestamp is a valid candle open time of this timeframe."""
        return (ts_ms - self.offset_ms) % self.ms == 0

    def close_time(self, open_ms: int) -> int:
        """First millisecond after the candle opened at ``open_ms``."""
        return open_ms + self.ms

    def divides(self, other: Timeframe) -> bool:
        """True when candles of ``other`` are made of whole candles of this timeframe."""
        if other.ms % self.ms != 0 or other.ms <= self.ms:
            return False
        return (other.offset_ms - self.offset_ms) % self.ms == 0

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Timeframe):
            return NotImplemented
        return self.ms < other.ms

    def __str__(self) -> str:
        return self.name
