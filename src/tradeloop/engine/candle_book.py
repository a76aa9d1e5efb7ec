"""Per-series candle history the engine reads its windows from (views, no copies)."""

from __future__ import annotations

import numpy as np

from tradeloop.domain.candles import FIELDS, Candle, CandleArrays, SeriesKey


class CandleBook:
    """Preloaded arrays (replay) or arrays grown by appending closed candles (live)."""

    def __init__(self) -> None:
        self._cols: dict[SeriesKey, dict[str, np.ndarray]] = {}
        self._len: dict[SeriesKey, int] = {}

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        self._cols[key] = {f: np.array(getattr(candles, f)) for f in FIELDS}
        self._len[key] = len(candles)

    def append(self, key: SeriesKey, candle: Candle) -> int:
        """Add a closed candle (newer than the last one) and return its index."""
        cols = self._cols.setdefault(key, {f: np.empty(0, dtype=np.int64 if f == "open_time"
                                                        else np.float64) for f in FIELDS})
        n = self._len.get(key, 0)
        if n and candle.open_time <= cols["open_time"][n - 1]:
            return n - 1  # duplicate or late candle: already have it
        if n == len(cols["open_time"]):
            for f in FIELDS:
                grown = np.empty(max(64, 2 * n), dtype=cols[f].dtype)
                grown[:n] = cols[f][:n]
                cols[f] = grown
        for f in FIELDS:
            cols[f][n] = getattr(candle, f)
        self._len[key] = n + 1
        return n

    def __len__(self) -> int:
        return sum(self._len.values())

    def candle(self, key: SeriesKey, index: int) -> Candle:
        c = self._cols[key]
        return Candle(int(c["open_time"][index]), float(c["open"][index]),
                      float(c["high"][index]), float(c["low"][index]),
                      float(c["close"][index]), float(c["volume"][index]))

    def window(self, key: SeriesKey, end_index: int, n: int) -> CandleArrays:
        """Candles ``end_index - n + 1 .. end_index`` (fewer at the start of the history)."""
        c = self._cols[key]
        lo = max(0, end_index + 1 - n)
        return CandleArrays(*(c[f][lo: end_index + 1] for f in FIELDS))
