"""Per-series candle history the engine reads its windows from (views, no copies)."""

from __future__ import annotations

import numpy as np

from tradeloop.domain.candles import FIELDS, Candle, CandleArrays, SeriesKey

KEEP_BARS = 5000  # appended history kept per series: the windows of features and drift checks


class CandleBook:
    """Preloaded arrays (replay) or arrays grown by appending closed candles (live).

    Indexes are absolute: the ``n``-th candle a series ever had keeps index ``n``. A series
    that grows by appending keeps only its newest ``keep`` candles (at most twice that before
    it is trimmed), so a session that runs for months holds bounded memory; older candles are
    in the store."""

    def __init__(self, keep: int = KEEP_BARS) -> None:
        self.keep = keep
        self._cols: dict[SeriesKey, list[np.ndarray]] = {}  # in FIELDS order
        self._len: dict[SeriesKey, int] = {}  # rows held
        self._base: dict[SeriesKey, int] = {}  # absolute index of row 0

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        self._cols[key] = [np.array(getattr(candles, f)) for f in FIELDS]
        self._len[key] = len(candles)
        self._base[key] = 0

    def append(self, key: SeriesKey, candle: Candle) -> int:
        """Add a closed candle (newer than the last one) and return its index."""
        cols = self._cols.setdefault(key, [np.empty(0, dtype=np.int64 if f == "open_time"
                                                    else np.float64) for f in FIELDS])
        base = self._base.setdefault(key, 0)
        n = self._len.get(key, 0)
        if n and candle.open_time <= cols[0][n - 1]:
            return base + n - 1  # duplicate or late candle: already have it
        if n >= 2 * self.keep:  # drop the oldest, keep the newest ``keep``
            drop = n - self.keep
            cols[:] = [col[drop:n].copy() for col in cols]
            base += drop
            n -= drop
            self._base[key] = base
        if n == len(cols[0]):
            for i, col in enumerate(cols):
                grown = np.empty(max(64, 2 * n), dtype=col.dtype)
                grown[:n] = col[:n]
                cols[i] = grown
        for col, f in zip(cols, FIELDS, strict=True):
            col[n] = getattr(candle, f)
        self._len[key] = n + 1
        return base + n

    def __len__(self) -> int:
        return sum(self._len.values())

    def series(self) -> list[SeriesKey]:
        return list(self._cols)

    def all(self, key: SeriesKey) -> CandleArrays:
        """Every candle held for ``key`` (a strategy preloads its indicators on it)."""
        t, o, h, lo, c, v = self._cols[key]
        n = self._len[key]
        return CandleArrays(t[:n], o[:n], h[:n], lo[:n], c[:n], v[:n])

    def first_index(self, key: SeriesKey) -> int:
        """Absolute index of the oldest candle held for ``key``."""
        return self._base.get(key, 0)

    def candle(self, key: SeriesKey, index: int) -> Candle:
        i = index - self._base.get(key, 0)
        if i < 0:
            raise IndexError(f"{key}: candle {index} is no longer held (oldest is "
                             f"{self._base[key]})")
        t, o, h, lo, c, v = self._cols[key]
        return Candle(int(t[i]), float(o[i]), float(h[i]), float(lo[i]), float(c[i]),
                      float(v[i]))

    def window(self, key: SeriesKey, end_index: int, n: int) -> CandleArrays:
        """Candles ``end_index - n + 1 .. end_index`` (fewer at the start of the history)."""
        hi = end_index - self._base.get(key, 0) + 1
        a = max(0, hi - n)
        t, o, h, lo, c, v = self._cols[key]
        return CandleArrays(t[a:hi], o[a:hi], h[a:hi], lo[a:hi], c[a:hi], v[a:hi])
