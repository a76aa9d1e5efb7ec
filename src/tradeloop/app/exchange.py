"""Composition of a live session's exchange side: one gateway (rate limit, retries, circuit
breaker, metrics) shared by the candle feed, the ticker cache and, for testnet and live, the
exchange broker. Paper mode = live candles + the simulated broker."""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.adapters.broker.ccxt_broker import CcxtBroker
from tradeloop.adapters.broker.order_tracker import ExecutionConfig
from tradeloop.adapters.exchange.ccxt_client import make_exchange
from tradeloop.adapters.exchange.circuit_breaker import CircuitBreaker
from tradeloop.adapters.exchange.gateway import ExchangeGateway
from tradeloop.adapters.exchange.rate_limit import RateLimiter
from tradeloop.adapters.exchange.tickers import TickerCache
from tradeloop.adapters.market_data.ccxt_source import CcxtCandleSource
from tradeloop.adapters.market_data.ws_candles import WebsocketCandles
from tradeloop.adapters.store.instance_ledger import InstanceLedger
from tradeloop.adapters.store.order_journal import OrderJournal
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.app.feeds import live_feed
from tradeloop.app.recovery import ExchangeRecovery
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import ConfigError, EngineError
from tradeloop.domain.trading import MAIN_INSTANCE
from tradeloop.ports import (
    BrokerFactory,
    BrokerSetup,
    Clock,
    FeedFactory,
    Notifier,
    Store,
    StoreHandle,
)
from tradeloop.settings import Settings


@dataclass
class LiveParts:
    gateway: ExchangeGateway
    feed: FeedFactory
    broker: BrokerFactory | None  # None: the simulated broker (paper)


def exchange_gateway(settings: Settings, clock: Clock, *, sandbox: bool = False,
                     with_keys: bool = False) -> ExchangeGateway:
    """The configured exchange behind our limiter and circuit breaker."""
    cfg = settings.exchange
    if sandbox and not cfg.sandbox:
        cfg = cfg.model_copy(update={"sandbox": True})
    exchange = make_exchange(cfg, settings.secrets if with_keys else None)
    return ExchangeGateway(
        exchange, clock, limiter=RateLimiter(cfg.rate_limit_per_minute, clock),
        breaker=CircuitBreaker(clock, threshold=cfg.circuit_breaker_failures,
                               cooldown_seconds=cfg.circuit_breaker_cooldown_seconds,
                               name=cfg.name),
        max_retries=cfg.max_retries)


def check_trading_mode(settings: Settings, mode: str) -> None:
    """Testnet and live need API keys; live must also be chosen in the config file."""
    if mode not in ("testnet", "live"):
        return
    sec = settings.secrets
    if sec.exchange_api_key is None or sec.exchange_api_secret is None:
        raise ConfigError(f"{mode} trading needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET in "
                          f"the environment or .env")
    if mode == "live":
        if settings.live_trading.mode != "live":
            raise EngineError("live trading places real orders: set live_trading.mode: live "
                              "in the config file as well as --mode live")
        if settings.exchange.sandbox:
            raise EngineError("exchange.sandbox is true: that is testnet, not live "
                              "(use --mode testnet)")


def live_parts(settings: Settings, handle: StoreHandle, clock: Clock, mode: str,
               notifier: Notifier | None = None) -> LiveParts:
    """The exchange side of a paper, testnet or live session (``broker`` None: paper, the
    simulated broker)."""
    check_trading_mode(settings, mode)
    trading = mode in ("testnet", "live")
    gateway = exchange_gateway(settings, clock, sandbox=mode == "testnet", with_keys=trading)
    stream = None
    if settings.exchange.websocket:
        cfg = settings.exchange.model_copy(update={"sandbox": settings.exchange.sandbox or
                                                   mode == "testnet"})

        def stream(keys: list[SeriesKey]) -> WebsocketCandles:
            return WebsocketCandles(cfg, keys, clock, gateway.metrics)
    feed = live_feed(CcxtCandleSource(gateway), handle, clock, settings, stream=stream)
    if not trading:
        return LiveParts(gateway, feed, None)
    ex = settings.execution
    config = ExecutionConfig(ex.order_type, ex.slippage_tolerance_percent / 100,
                             int(ex.order_timeout_seconds * 1000),
                             int(ex.unknown_order_grace_seconds * 1000))
    tickers = TickerCache(gateway, settings.exchange.ticker_ttl_seconds)

    ledger = InstanceLedger(handle.engine, mode)

    def broker(symbols: list[str], deployment_id: int, run_id: str, store: Store
               ) -> BrokerSetup:
        def book(instance: str, traded: list[str], view: Store, tag: str) -> BrokerSetup:
            assert isinstance(view, TradingStore)
            whose = "" if instance == MAIN_INSTANCE else f"strategy {instance}: "

            def on_error(kind: str, message: str, symbol: str | None) -> None:
                view.error(clock.now_ms(), kind, whose + message, symbol, None, "broker")
            b = CcxtBroker(gateway, OrderJournal(handle.engine, mode, deployment_id, instance),
                           tickers, traded, config, run_tag=tag, on_error=on_error,
                           ledger=ledger)
            return BrokerSetup(b, ExchangeRecovery(b, view, notifier))

        def books(instance: str, traded: list[str], view: Store) -> BrokerSetup:
            return book(instance, traded, view, f"{run_id}-{instance}")

        main = book(MAIN_INSTANCE, symbols, store, run_id)
        return BrokerSetup(main.broker, main.recover, books)

    return LiveParts(gateway, feed, broker)
