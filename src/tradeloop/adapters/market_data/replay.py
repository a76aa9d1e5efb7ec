"""ReplayMarketData: stored candles as candle-close events of several series in time order
(the MarketData port for replay; the whole window is preloaded into the book)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tradeloop.adapters.clock import SimClock
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ports import CandleClose, CandleReader, CandleSink


class ReplayMarketData:
    """Loads each series over ``[start - warmup, end)`` and replays the closes in
    ``(start, end]`` ordered by close time, then timeframe (finest first), then symbol.

    The replay drives the simulated ``clock`` to each close time. With ``heartbeat_ms`` it
    also yields a heartbeat (None) every ``heartbeat_ms`` of simulated time, as a live feed
    would (a rehearsed deployment's hooks run on them); without, only one at the end (a
    backtest)."""

    def __init__(self, reader: CandleReader, keys: list[SeriesKey], start_ms: int, end_ms: int,
                 warmup_bars: int, clock: SimClock, heartbeat_ms: int | None = 60_000) -> None:
        self.keys = keys
        self.clock, self.heartbeat_ms = clock, heartbeat_ms
        self.start_ms, self.end_ms = start_ms, end_ms
        self.series: dict[SeriesKey, CandleArrays] = {}
        self.first_event: dict[SeriesKey, int] = {}
        for key in keys:
            tf = Timeframe.parse(key.timeframe)
            candles = reader.load(key, start_ms - warmup_bars * tf.ms, end_ms)
            closes = candles.open_time + tf.ms
            keep = closes <= end_ms
            candles = candles.take(keep)
            self.series[key] = candles
            self.first_event[key] = int(np.searchsorted(candles.open_time + tf.ms, start_ms,
                                                        side="right"))

    def open(self, sink: CandleSink) -> None:
        for key, candles in self.series.items():
            sink.preload(key, candles)

    def close(self) -> None:
        """Nothing to release: the candles are in memory."""

    def closes(self) -> Iterator[CandleClose | None]:
        clock, beat = self.clock, self.heartbeat_ms
        if beat is None:
            for event in self._events():
                assert event is not None
                clock.set(event.close_ms)
                yield event
            if clock.now_ms() < self.end_ms:
                clock.set(self.end_ms)
            yield None
            return
        next_beat = self.start_ms + beat
        for event in self._events():
            assert event is not None
            while next_beat < event.close_ms:
                clock.set(next_beat)
                yield None
                next_beat += beat
            clock.set(event.close_ms)
            yield event
        while next_beat <= self.end_ms:
            clock.set(next_beat)
            yield None
            next_beat += beat
        if clock.now_ms() < self.end_ms:
            clock.set(self.end_ms)
            yield None

    def prices(self) -> dict[str, tuple[int, float]]:
        """Each symbol's last close at the simulated time."""
        now = self.clock.now_ms()
        out: dict[str, tuple[int, float]] = {}
        for key, c in self.series.items():
            closes = c.open_time + Timeframe.parse(key.timeframe).ms
            i = int(np.searchsorted(closes, now, side="right")) - 1
            if i >= 0 and (key.symbol not in out or int(closes[i]) > out[key.symbol][0]):
                out[key.symbol] = (int(closes[i]), float(c.close[i]))
        return out

    def _events(self) -> Iterator[CandleClose | None]:
        close_parts, tf_parts, sym_parts, idx_parts, key_parts = [], [], [], [], []
        symbols = sorted({k.symbol for k in self.keys})
        for n, key in enumerate(self.keys):
            tf = Timeframe.parse(key.timeframe)
            c = self.series[key]
            idx = np.arange(self.first_event[key], len(c))
            close_parts.append(c.open_time[idx] + tf.ms)
            tf_parts.append(np.full(len(idx), tf.ms))
            sym_parts.append(np.full(len(idx), symbols.index(key.symbol)))
            idx_parts.append(idx)
            key_parts.append(np.full(len(idx), n))
        if not close_parts:
            return
        close = np.concatenate(close_parts)
        order = np.lexsort((np.concatenate(sym_parts), np.concatenate(tf_parts), close))
        idx_all, keys_all = np.concatenate(idx_parts)[order], np.concatenate(key_parts)[order]
        close = close[order]
        for i, k, t in zip(idx_all.tolist(), keys_all.tolist(), close.tolist(), strict=True):
            yield CandleClose(self.keys[k], i, t)

    def __len__(self) -> int:
        return sum(len(self.series[k]) - self.first_event[k] for k in self.keys)
