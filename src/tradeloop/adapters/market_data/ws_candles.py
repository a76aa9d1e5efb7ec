"""WebsocketCandles: closed candles pushed by the exchange's websocket (ccxt.pro), watched in
a background thread. The REST feed asks it first and polls for whatever it has not got, so
when the websocket drops, candles keep coming by REST until it is back.

A candle is taken as closed once the stream has moved on to a later candle of its series
(its last update is then final). The connection is re-opened with backoff after a failure;
``healthy`` says whether messages are arriving; uptime goes into the exchange metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

import numpy as np

from tradeloop.adapters.exchange.ccxt_client import make_exchange
from tradeloop.adapters.exchange.metrics import ExchangeMetrics
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.redaction import redact
from tradeloop.ports import Clock
from tradeloop.settings import ExchangeSettings

log = logging.getLogger("tradeloop.market")


class WebsocketCandles:
    """Kline streams of ``keys`` from one exchange, kept until the feed takes them."""

    def __init__(self, settings: ExchangeSettings, keys: list[SeriesKey], clock: Clock,
                 metrics: ExchangeMetrics, *, stale_seconds: float = 90.0,
                 max_backoff_seconds: float = 30.0) -> None:
        self.settings, self.keys, self.clock, self.metrics = settings, keys, clock, metrics
        self.stale_ms = int(stale_seconds * 1000)
        self.max_backoff = max_backoff_seconds
        self.connected = False
        self.reconnects = 0
        self._last_message: int | None = None
        self._rows: dict[SeriesKey, dict[int, list[float]]] = {k: {} for k in keys}
        self._newest: dict[SeriesKey, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="websocket", daemon=True)
        self._by_market = {(k.symbol, k.timeframe): k for k in keys}

    # -- what the feed calls ----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def healthy(self, now_ms: int) -> bool:
        """Connected, with a message within ``stale_seconds``."""
        last = self._last_message
        return self.connected and last is not None and now_ms - last <= self.stale_ms

    def take(self, key: SeriesKey, after: int | None) -> CandleArrays:
        """Closed candles of ``key`` opened after ``after`` (forgotten once taken)."""
        with self._lock:
            newest = self._newest.get(key)
            rows = self._rows[key]
            if newest is None:
                return CandleArrays.empty()
            closed = sorted(t for t in rows if t < newest)
            out = [rows[t] for t in closed if after is None or t > after]
            for t in closed:  # returned now, or already in the book
                del rows[t]
        if not out:
            return CandleArrays.empty()
        a = np.asarray(out, dtype=float)
        return CandleArrays(a[:, 0].astype(np.int64), a[:, 1], a[:, 2], a[:, 3], a[:, 4],
                            a[:, 5])

    def latest(self) -> dict[str, tuple[int, float]]:
        """Each symbol's newest streamed price (the forming candle's close) and when it came."""
        out: dict[str, tuple[int, float]] = {}
        with self._lock:
            at = self._last_message or 0
            for key, newest in self._newest.items():
                row = self._rows[key].get(newest)
                if row is not None and key.symbol not in out:
                    out[key.symbol] = (at, row[4])
        return out

    # -- the background thread ----------------------------------------------------------------
    def _run(self) -> None:
        asyncio.run(self._main())

    def _exchange(self) -> Any:
        import ccxt.pro as ccxtpro  # only when websockets are configured

        ex = make_exchange(self.settings, module=ccxtpro)
        if self.settings.websocket_url:
            ws = ex.urls["api"].get("ws")
            if isinstance(ws, dict):
                for kind in ("spot", "margin"):
                    if kind in ws:
                        ws[kind] = self.settings.websocket_url
        return ex

    async def _main(self) -> None:
        backoff = 1.0
        pairs = [[k.symbol, k.timeframe] for k in self.keys]
        while not self._stop.is_set():
            ex = None
            try:
                ex = self._exchange()
                while not self._stop.is_set():
                    data = await asyncio.wait_for(ex.watch_ohlcv_for_symbols(pairs),
                                                  timeout=self.stale_ms / 1000)
                    self._on(data)
                    backoff = 1.0
            except Exception as exc:  # any failure: mark down, back off, reconnect
                if self.connected or self.reconnects == 0:
                    log.warning("websocket down (%s): candles by REST until it is back",
                                redact(f"{type(exc).__name__}: {exc}")[:200])
                self._down()
            finally:
                if ex is not None:
                    with contextlib.suppress(Exception):  # closing a broken client
                        await ex.close()
            if self._stop.is_set():
                break
            self.reconnects += 1
            waited = 0.0
            while waited < backoff and not self._stop.is_set():
                await asyncio.sleep(0.05)
                waited += 0.05
            backoff = min(self.max_backoff, backoff * 2)
        self._down()

    def _down(self) -> None:
        if self.connected:
            self.connected = False
            self.metrics.websocket(False, self.clock.now_ms())

    def _on(self, data: dict[str, dict[str, list[list[float]]]]) -> None:
        now = self.clock.now_ms()
        if not self.connected:
            self.connected = True
            self.metrics.websocket(True, now)
            log.info("websocket connected: %d stream(s)", len(self.keys))
        self._last_message = now
        with self._lock:
            for symbol, by_tf in data.items():
                for tf, rows in by_tf.items():
                    key = self._by_market.get((symbol, tf))
                    if key is None:
                        continue
                    store = self._rows[key]
                    for row in rows:
                        store[int(row[0])] = [float(x) for x in row[:6]]
                        self._newest[key] = max(self._newest.get(key, 0), int(row[0]))
