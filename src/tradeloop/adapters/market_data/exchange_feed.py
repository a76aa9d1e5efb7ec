"""ExchangeMarketData: closed candles of live markets by REST polling, aligned to candle close.

At :meth:`open` each series catches up on the candles missed while the engine was down
(from the last stored candle), stores them and puts its warm-up window in the book. Then
:meth:`closes` polls each series a little after each of its candles closes, validates what
comes back (out of order, duplicates, unclosed or malformed candles are dealt with as in an
import), stores it and yields one event per new closed candle, in time order. A series whose
newest candle is more than ``max_missing_bars`` behind is reported stale once (callback),
and again fresh when it recovers; a due candle that is not there yet is asked for again
after ``retry_seconds``. Exchange errors never end the loop: they are reported and
the series is tried again at the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import numpy as np

from tradeloop.adapters.market_data.ws_candles import WebsocketCandles
from tradeloop.domain.candle_checks import validate_candles
from tradeloop.domain.candles import FIELDS, Candle, CandleArrays, SeriesKey
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ports import CandleClose, CandleSink, CandleSource, CandleWriter, Clock

log = logging.getLogger("tradeloop.market")
PAGE = 1000


class ExchangeMarketData:
    """The MarketData port for paper, testnet and live (``source``: the exchange)."""

    def __init__(self, source: CandleSource, store: CandleWriter, keys: list[SeriesKey],
                 clock: Clock, *, warmup_bars: int, settle_seconds: float = 2.0,
                 heartbeat_seconds: float = 5.0, retry_seconds: float = 5.0,
                 max_missing_bars: int = 3,
                 backfill_bars: int = 1000,
                 on_error: Callable[[SeriesKey, TradeloopError], None] | None = None,
                 on_stale: Callable[[SeriesKey, bool, int], None] | None = None,
                 stream: WebsocketCandles | None = None) -> None:
        self.source, self.store, self.keys, self.clock = source, store, keys, clock
        self.warmup_bars, self.backfill_bars = warmup_bars, backfill_bars
        self.settle_ms = int(settle_seconds * 1000)
        self.heartbeat_s = heartbeat_seconds
        self.retry_ms = int(retry_seconds * 1000)
        self._retry_at: dict[SeriesKey, int] = {}  # a due candle was not there yet
        self.max_missing_bars = max_missing_bars
        self.on_error, self.on_stale = on_error, on_stale
        self.tf = {k: Timeframe.parse(k.timeframe) for k in keys}
        self.last: dict[SeriesKey, int] = {}  # newest closed candle in the book
        self.stale: set[SeriesKey] = set()
        self.errors = 0
        self.polls = 0  # REST polls
        self.from_stream = 0  # candles the websocket delivered
        self.stream = stream
        self._sink: CandleSink | None = None
        self._latest: dict[str, tuple[int, float]] = {}  # symbol -> (close ms, close)

    # -- start-up -------------------------------------------------------------------------
    def open(self, sink: CandleSink) -> None:
        self._sink = sink
        if self.stream is not None:
            self.stream.start()
        for key in self.keys:
            tf = self.tf[key]
            try:
                self._fetch_new(key, self.store.last_open_time(key), self.clock.now_ms())
            except TradeloopError as exc:
                self._report(key, exc)
            history = self.store.load(key, tf.floor(self.clock.now_ms())
                                      - (self.warmup_bars + 1) * tf.ms)
            sink.preload(key, history)
            if len(history):
                self.last[key] = int(history.open_time[-1])
            log.info("[%s @ %s] %d candles of warm-up history", key.symbol, key.timeframe,
                     len(history))

    # -- the feed -------------------------------------------------------------------------
    def _due_ms(self, key: SeriesKey) -> int:
        """When the next candle of ``key`` has closed (plus the settle delay)."""
        tf = self.tf[key]
        last = self.last.get(key)
        nxt = last + tf.ms if last is not None else tf.floor(self.clock.now_ms()) - tf.ms
        return max(nxt + tf.ms + self.settle_ms, self._retry_at.get(key, 0))

    def closes(self) -> Iterator[CandleClose | None]:
        assert self._sink is not None, "open() first"
        while True:
            now = self.clock.now_ms()
            events: list[tuple[int, int, str, CandleClose]] = []
            for key in self.keys:
                if now < self._due_ms(key):
                    continue
                new = self._from_stream(key, now)
                if new is None:  # no websocket, or it lacks the due candle: poll REST
                    self.polls += 1
                    try:
                        new = self._fetch_new(key, self.last.get(key), now)
                    except TradeloopError as exc:
                        self._report(key, exc)
                        new = CandleArrays.empty()
                if len(new) == 0:
                    self._retry_at[key] = now + self.retry_ms
                tf = self.tf[key]
                for i in range(len(new)):
                    candle = Candle(int(new.open_time[i]), float(new.open[i]),
                                    float(new.high[i]), float(new.low[i]),
                                    float(new.close[i]), float(new.volume[i]))
                    index = self._sink.append(key, candle)
                    close = candle.open_time + tf.ms
                    events.append((close, tf.ms, key.symbol, CandleClose(key, index, close)))
                    self.last[key] = candle.open_time
                    if close > self._latest.get(key.symbol, (0, 0.0))[0]:
                        self._latest[key.symbol] = (close, candle.close)
                self._check_stale(key, now)
            events.sort(key=lambda e: e[:3])
            for *_, event in events:
                yield event
            wait_ms = min(self._due_ms(k) for k in self.keys) - self.clock.now_ms()
            self.clock.sleep(max(0.0, min(wait_ms / 1000, self.heartbeat_s)))
            yield None

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def prices(self) -> dict[str, tuple[int, float]]:
        """The websocket's forming candles where it has newer, else the last closes."""
        out = dict(self._latest)
        if self.stream is not None:
            for symbol, (t, price) in self.stream.latest().items():
                if t >= out.get(symbol, (0, 0.0))[0]:
                    out[symbol] = (t, price)
        return out

    def _from_stream(self, key: SeriesKey, now: int) -> CandleArrays | None:
        """The websocket's closed candles after the last one, when they reach the newest
        closed candle; None when REST must be asked."""
        if self.stream is None or not self.stream.healthy(now):
            return None
        tf = self.tf[key]
        got = self.stream.take(key, self.last.get(key))
        last = self.last.get(key)
        if not len(got) or int(got.open_time[-1]) < tf.floor(now) - tf.ms or (
                last is not None and int(got.open_time[0]) != last + tf.ms):
            return None  # behind, or a gap: REST fetches everything after the last
        valid = self._accept(key, got, now)
        self.from_stream += len(valid)
        return valid

    def _accept(self, key: SeriesKey, page: CandleArrays, now: int) -> CandleArrays:
        """Validate and store a page of candles; returns the valid ones."""
        valid, report = validate_candles(page, self.tf[key], now_ms=now)
        if report.rejected:  # the forming candle comes with every page: not a problem
            quiet = set(report.counts) == {"not_closed"}
            log.log(logging.DEBUG if quiet else logging.WARNING, "[%s @ %s] %s",
                    key.symbol, key.timeframe, "; ".join(report.lines()))
        if len(valid):
            self.store.write(key, valid, refresh_gaps=False)
        return valid

    def _fetch_new(self, key: SeriesKey, last: int | None, now: int) -> CandleArrays:
        """Fetch, validate and store every closed candle after ``last``; returns them."""
        tf = self.tf[key]
        newest_closed = tf.floor(now) - tf.ms
        since = last + tf.ms if last is not None else newest_closed - self.backfill_bars * tf.ms
        parts = []
        while since <= newest_closed:
            page = self.source.fetch(key, since, PAGE)
            page = page.take(page.open_time >= since)
            if len(page) == 0:
                break
            valid = self._accept(key, page, now)
            if len(valid):
                parts.append(valid)
            nxt = int(page.open_time.max()) + tf.ms
            if len(page) < PAGE or nxt <= since:
                break
            since = nxt
        if not parts:
            return CandleArrays.empty()
        return CandleArrays(*(np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS))

    def _check_stale(self, key: SeriesKey, now: int) -> None:
        tf = self.tf[key]
        last = self.last.get(key)
        missing = (tf.floor(now) - tf.ms - last) // tf.ms if last is not None else \
            self.max_missing_bars + 1
        if missing > self.max_missing_bars and key not in self.stale:
            self.stale.add(key)
            log.warning("[%s @ %s] market data stale: %d candles missing", key.symbol,
                        key.timeframe, missing)
            if self.on_stale is not None:
                self.on_stale(key, True, int(missing))
        elif missing <= self.max_missing_bars and key in self.stale:
            self.stale.discard(key)
            log.info("[%s @ %s] market data fresh again", key.symbol, key.timeframe)
            if self.on_stale is not None:
                self.on_stale(key, False, 0)

    def _report(self, key: SeriesKey, exc: TradeloopError) -> None:
        self.errors += 1
        log.warning("[%s @ %s] market data: %s", key.symbol, key.timeframe, exc)
        if self.on_error is not None:
            self.on_error(key, exc)
