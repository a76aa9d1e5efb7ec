"""The market data of a run: stored candles replayed on a simulated clock, or the exchange's
candles as they close (websocket when configured, REST polling otherwise)."""

from __future__ import annotations

from collections.abc import Callable

from tradeloop.adapters.clock import SimClock
from tradeloop.adapters.market_data.exchange_feed import ExchangeMarketData
from tradeloop.adapters.market_data.replay import ReplayMarketData
from tradeloop.adapters.market_data.ws_candles import WebsocketCandles
from tradeloop.domain.candles import SeriesKey
from tradeloop.engine.assembly import run_warmup
from tradeloop.ports import CandleSource, Clock, FeedFactory, FeedHooks, MarketData, StoreHandle
from tradeloop.settings import Settings


def live_feed(source: CandleSource, handle: StoreHandle, clock: Clock, settings: Settings, *,
              settle_seconds: float = 2.0, heartbeat_seconds: float = 1.0,
              retry_seconds: float = 5.0,
              stream: Callable[[list[SeriesKey]], WebsocketCandles] | None = None
              ) -> FeedFactory:
    """Closed candles from the exchange as they close (stored as they arrive): from the
    websocket ``stream`` when there is one and it is up, else polled by REST."""
    def make(keys: list[SeriesKey], hooks: FeedHooks) -> MarketData:
        return ExchangeMarketData(source, handle.candles, keys, clock,
                              warmup_bars=run_warmup(settings),
                              settle_seconds=settle_seconds,
                              heartbeat_seconds=heartbeat_seconds, retry_seconds=retry_seconds,
                              max_missing_bars=settings.exchange.max_missing_bars,
                              on_error=hooks.on_error, on_stale=hooks.on_stale,
                              stream=stream(keys) if stream is not None else None)
    return make


def replay_feed(handle: StoreHandle, clock: SimClock, settings: Settings, start_ms: int,
                end_ms: int, heartbeat_ms: int | None = 60_000) -> FeedFactory:
    """Stored candles of ``(start, end]`` replayed at full speed on the simulated clock
    (``heartbeat_ms=None``: no heartbeats between candles, a backtest)."""
    def make(keys: list[SeriesKey], hooks: FeedHooks) -> MarketData:
        return ReplayMarketData(handle.candles, keys, start_ms, end_ms,
                                warmup_bars=run_warmup(settings), clock=clock,
                                heartbeat_ms=heartbeat_ms)
    return make
