"""A deployment's parts for its mode: replay (simulated clock, stored candles, SimBroker),
paper (wall clock, exchange candles, SimBroker fed by live prices) or testnet/live (the
exchange broker). The only place a session's adapters are chosen."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tradeloop.adapters.broker.sim import SimBroker
from tradeloop.adapters.clock import WallClock
from tradeloop.adapters.exchange.gateway import ExchangeGateway
from tradeloop.adapters.notify.log_notifier import LogNotifier
from tradeloop.adapters.store.blacklist_records import Blacklist
from tradeloop.adapters.store.calibration_queries import CalibrationSpec
from tradeloop.adapters.store.control_store import ControlChannel
from tradeloop.adapters.store.deployment_metrics import CalibrationWatch, HealthRecords
from tradeloop.adapters.store.deployments import Deployments
from tradeloop.adapters.store.runtime_state import STRATEGY, RuntimeState
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.adapters.store.wipe import summary, wipe_trading_state
from tradeloop.app.graduation import session_pipeline
from tradeloop.app.news import fetch_news, news_features, news_sources, sentiment_scorer
from tradeloop.app.recovery import PaperRecovery, nothing_to_recover
from tradeloop.app.stores import champion_files, engine_lock
from tradeloop.deploy.news_job import NewsJob
from tradeloop.deploy.session import DeploymentSession, SessionParts, SessionStore
from tradeloop.domain.commands import ControlCommand
from tradeloop.domain.errors import EngineError, TradeloopError
from tradeloop.ml.predictor import ChampionPredictor
from tradeloop.monitoring.health_checks import HealthMonitor
from tradeloop.ports import (
    BrokerFactory,
    BrokerSetup,
    Clock,
    FeedFactory,
    ModelRegistry,
    Notifier,
    Predictor,
    RetrainRunner,
    Store,
    StoreHandle,
)
from tradeloop.settings import Settings
from tradeloop.strategies.imported import check_choice

log = logging.getLogger("tradeloop.session")


class StoredControls:
    """The control channel and the operator's choices kept in the database (the session's
    SessionControls)."""

    def __init__(self, handle: StoreHandle) -> None:
        self.db = handle.engine
        self.channel, self.state = ControlChannel(self.db), RuntimeState(self.db)

    def pending(self) -> list[ControlCommand]:
        return self.channel.pending()

    def answer(self, command_id: int, status: str, result: str, now_ms: int) -> None:
        self.channel.answer(command_id, status, result, now_ms)

    def strategy(self, settings: Settings) -> str:
        """The strategy an operator chose last, if it is still a choice; else the config's."""
        default = settings.trading.strategy
        name = self.state.strategy(default)
        try:
            check_choice(settings, name)
        except TradeloopError as exc:
            log.warning("stored strategy %r cannot trade (%s); using %s from the config",
                        name, exc, default)
            return default
        return name

    def set_strategy(self, name: str, now_ms: int, by: str) -> None:
        self.state.put(STRATEGY, name, now_ms, by)

    def paused(self) -> set[str]:
        return self.state.paused()

    def set_paused(self, symbol: str, paused: bool, now_ms: int, by: str) -> None:
        self.state.set_paused(symbol, paused, now_ms, by)

    def wipe(self) -> str:
        return summary(wipe_trading_state(self.db))


def simulated_broker(settings: Settings, handle: StoreHandle, mode: str) -> BrokerFactory:
    """SimBroker: a replay starts empty; a paper account takes over what a crashed paper
    run left open. Other instances' books of the account start empty (funded by
    transfers)."""
    t = settings.trading

    def books(instance: str, symbols: list[str], store: Store) -> BrokerSetup:
        return BrokerSetup(SimBroker(0.0, t.fee_bps, t.slippage_bps), nothing_to_recover)

    def make(symbols: list[str], deployment_id: int, run_id: str, store: Store
             ) -> BrokerSetup:
        broker = SimBroker(t.initial_balance, t.fee_bps, t.slippage_bps)
        if mode == "replay":
            return BrokerSetup(broker, nothing_to_recover, books)
        assert isinstance(store, TradingStore)
        return BrokerSetup(broker, PaperRecovery(handle.engine, broker, store, mode, symbols,
                                                 deployment_id), books)
    return make


def session_parts(settings: Settings, handle: StoreHandle, *, mode: str, clock: Clock,
                  feed: FeedFactory, runner: RetrainRunner,
                  registry: ModelRegistry | None = None, notifier: Notifier | None = None,
                  predictor: Predictor | None = None, broker: BrokerFactory | None = None,
                  gateway: ExchangeGateway | None = None, pipeline: bool | None = None
                  ) -> SessionParts:
    """Everything a session of ``mode`` runs on. ``broker`` None: the simulated broker;
    a clock other than the wall clock drives the health checks at its own time.
    ``pipeline``: run the graduation pipeline inside (None: ``graduation.in_session`` for
    paper, testnet and live; a replay rehearses it with ``tradeloop graduation``)."""
    if mode in ("testnet", "live") and broker is None:
        raise EngineError(f"{mode} trading needs the exchange broker (a simulated account "
                          f"would only pretend to trade)")
    registry = registry or champion_files(settings)

    def store(run_mode: str, deployment_id: int) -> SessionStore:
        return TradingStore(handle.engine, run_mode, deployment_id)

    def health(deployment_id: int, started: int, equity: float) -> HealthMonitor:
        h = settings.deployment.health
        watch = CalibrationWatch(CalibrationSpec.of(settings), list(settings.symbols),
                                 h.calibration_window_hours, h.min_calibration_samples)
        return HealthMonitor(HealthRecords(handle.engine, watch), deployment_id, started,
                             settings, notifier, initial_equity=equity)

    def on_deployment(deployment_id: int) -> None:
        if isinstance(notifier, LogNotifier):
            notifier.deployment_id = deployment_id

    metrics = None
    if gateway is not None:
        limit = settings.exchange.rate_limit_per_minute

        def metrics(s: SessionStore, now: int) -> None:
            assert isinstance(s, TradingStore)
            s.exchange_metrics(now, gateway.snapshot(), limit)

    simulated = not isinstance(clock, WallClock)
    if pipeline is None:
        pipeline = settings.graduation.in_session and mode != "replay"
    graduation = session_pipeline(settings, handle, background=not simulated,
                                  notifier=notifier) if pipeline else None
    news: Callable[[SessionStore], NewsJob] | None = None
    if settings.news.configured and settings.news.fetch_minutes > 0 and mode != "replay":
        scorer = sentiment_scorer(settings)  # loaded by the job's first round, on its thread
        sources = news_sources(settings, clock)  # its limit and breakers span the rounds

        def fetch() -> str:
            r = fetch_news(settings, handle, clock, scorer=scorer, sources=sources)
            failed = f"; failed: {', '.join(r.errors)}" if r.errors else ""
            unscored = f"; not scored: {r.score_error}" if r.score_error else ""
            return f"{r.items} items, {r.added} new, {r.scored} scored{failed}{unscored}"

        def news_job(s: SessionStore) -> NewsJob:
            return NewsJob(fetch, int(settings.news.fetch_minutes * 60_000), s)
        news = news_job
    return SessionParts(
        clock=clock, simulated=simulated, feed=feed,
        broker=broker or simulated_broker(settings, handle, mode), runner=runner,
        predictor=predictor or ChampionPredictor(registry, news_features(settings, handle)),
        registry=registry,
        lock=engine_lock(settings), deployments=Deployments(handle.engine),
        controls=StoredControls(handle), store=store, health=health, notifier=notifier,
        exchange_metrics=metrics, on_deployment=on_deployment, pipeline=graduation,
        blacklist=Blacklist(handle.engine).active, news=news)


def make_session(settings: Settings, handle: StoreHandle, symbols: list[str], *, mode: str,
                 clock: Clock, feed: FeedFactory, runner: RetrainRunner,
                 registry: ModelRegistry | None = None, notifier: Notifier | None = None,
                 predictor: Predictor | None = None, broker: BrokerFactory | None = None,
                 gateway: ExchangeGateway | None = None, pipeline: bool | None = None,
                 **options: Any) -> DeploymentSession:
    """A session of ``mode`` on ``symbols`` (``options``: phase, activate_after,
    on_activated, notes)."""
    parts = session_parts(settings, handle, mode=mode, clock=clock, feed=feed, runner=runner,
                          registry=registry, notifier=notifier, predictor=predictor,
                          broker=broker, gateway=gateway, pipeline=pipeline)
    return DeploymentSession(settings, symbols, parts, mode=mode, **options)


def live_session(settings: Settings, handle: StoreHandle, symbols: list[str], *, mode: str,
                 clock: Clock) -> DeploymentSession:
    """``tradeloop run``: a paper, testnet or live session on the configured exchange, the
    production champions serving, retraining in a worker process."""
    from tradeloop.app.exchange import live_parts
    from tradeloop.app.retrain_jobs import retrain_runner
    from tradeloop.app.stores import notifier_for

    notifier = notifier_for(settings, handle.engine, clock)
    live = live_parts(settings, handle, clock, mode, notifier)
    return make_session(settings, handle, symbols, mode=mode, clock=clock, feed=live.feed,
                        broker=live.broker, gateway=live.gateway,
                        runner=retrain_runner(settings, None, wait=False), notifier=notifier)
