"""A deployment: the engine run through the one runner as a ``deployments`` row, on live
market data (paper, testnet, live: wall clock) or on replayed history (simulated clock, full
speed).

What the modes share is here: the deployment's lifecycle (open, recover what earlier runs
left, run, close with its outcome), its hooks on the runner (equity snapshots as the
heartbeat, scheduled health checks, the operator's commands, the staged activation of a
rollout's symbols, the automatic rollback on a max-drawdown breach, stop conditions) and one
engine per data folder (the instance lock). What differs between modes (market data, broker
and its recovery, clock, registry) comes in :class:`SessionParts`, chosen by the composition
root; nothing here looks at which concrete adapter it got.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from tradeloop.deploy.live_pipeline import LivePipeline
from tradeloop.deploy.news_job import NewsJob
from tradeloop.deploy.operator_commands import PAUSED, OperatorCommands, SessionControls
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import EngineError, TradeloopError
from tradeloop.domain.health import Health
from tradeloop.engine.assembly import wire_engine
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine
from tradeloop.engine.learning import LearningController
from tradeloop.engine.runner import HALT, Runner
from tradeloop.monitoring.health_checks import HealthMonitor
from tradeloop.monitoring.schedules import BackgroundSchedule, SimulatedSchedule
from tradeloop.ports import (
    Books,
    BrokerFactory,
    Clock,
    FeedFactory,
    MarketData,
    ModelRegistry,
    Notifier,
    Predictor,
    RetrainRunner,
    Store,
)
from tradeloop.settings import Settings

log = logging.getLogger("tradeloop.session")
MODES = ("replay", "paper", "testnet", "live")
HOUR_MS = 3_600_000
NOT_DEPLOYED = "not yet deployed"
IO_SECONDS = 1.0  # wall time between flushes / control-channel polls
AGES_MS = 60_000  # at least this long between two writes of the model ages (clock time)
SESSION_HISTORY = 10_000  # closed trades / equity samples a session keeps in memory


class Lock(Protocol):
    def acquire(self, **info: object) -> None: ...

    def release(self) -> None: ...


class SessionStore(Store, Protocol):
    """The engine's store as a deployment uses it (the TradingStore)."""

    deployment_id: int | None

    def snapshot(self, now_ms: int, equity: float, cash: float, open_positions: int,
                 events: int, errors: int) -> None: ...

    def forget(self) -> None: ...

    def prices(self, now_ms: int, prices: dict[str, tuple[int, float]]) -> None: ...

    def model_ages(self, now_ms: int, ages_ms: dict[tuple[str, str], int],
                   budget_hours: float | None) -> None:
        """Each series' model age now (the health check, the monitor, the dashboard)."""

    def adopt_positions(self, ids: dict[str, int]) -> None: ...


class DeploymentLog(Protocol):
    """Writes of the ``deployments`` table."""

    def open(self, *, phase: int, symbols: list[str], mode: str, started_ms: int,
             notes: dict[str, Any] | str | None = None, status: str = "running") -> int: ...

    def update(self, deployment_id: int, *, status: str | None = None,
               ended_ms: int | None = None, duration_hours: float | None = None,
               notes: dict[str, Any] | str | None = None, report_path: str | None = None,
               verdict: str | None = None, criteria_met: int | None = None) -> None: ...

    def mark_crashed(self, current: int) -> list[int]: ...


@dataclass
class SessionParts:
    """What a session runs on, chosen by the composition root (``tradeloop.app``).

    ``simulated``: the clock is driven by replayed data (health checks run on the data's
    time, not on a background thread). ``store`` opens the engine's store of a deployment;
    ``health`` its health monitor; ``exchange_metrics`` records the exchange edge's counters
    with each snapshot (live modes)."""

    clock: Clock
    simulated: bool
    feed: FeedFactory
    broker: BrokerFactory
    runner: RetrainRunner
    predictor: Predictor
    registry: ModelRegistry
    lock: Lock
    deployments: DeploymentLog
    controls: SessionControls
    store: Callable[[str, int], SessionStore]
    health: Callable[[int, int, float], HealthMonitor]
    notifier: Notifier | None = None
    exchange_metrics: Callable[[SessionStore, int], None] | None = None
    on_deployment: Callable[[int], None] | None = None
    # the graduation pipeline inside the session: (engine, store, symbols, the account's
    # books for the funded instances) -> its hook
    pipeline: Callable[[Engine, SessionStore, list[str], Books | None], LivePipeline] | None \
        = None
    # the symbols blacklisted now (the stored list: automatic and the operator's) -> why
    blacklist: Callable[[int], dict[str, str]] | None = None
    # the news job (fetch and score on its own thread) of a session's store
    news: Callable[[SessionStore], NewsJob] | None = None


@dataclass
class SessionResult:
    deployment_id: int
    mode: str
    stopped_by: str
    started_ms: int
    ended_ms: int
    engine: Engine
    learning: LearningController
    status: str = "failed"
    rollback_reason: str | None = None
    health: Health | None = None
    health_runs: int = 0
    commands: list[tuple[int, str, str]] = field(default_factory=list)


class _Feed:
    """What the live feed reports besides candles (the FeedHooks port)."""

    def __init__(self, engine: Engine, store: SessionStore, clock: Clock,
                 notifier: Notifier | None) -> None:
        self.engine, self.store, self.clock, self.notifier = engine, store, clock, notifier

    def on_error(self, key: SeriesKey, exc: TradeloopError) -> None:
        self.store.error(self.clock.now_ms(), type(exc).__name__, str(exc), key.symbol,
                         key.timeframe, "market_data")

    def on_stale(self, key: SeriesKey, stale: bool, missing: int) -> None:
        now = self.clock.now_ms()
        if stale:
            t = self.engine.gate.hold(key.symbol, "stale market data", now)
            if t is not None:
                self.engine.record_transition(t)
            if self.notifier is not None:
                self.notifier.notify("warning", "Stale market data",
                                     f"{key.timeframe}: {missing} candles missing", key.symbol)
        else:
            self.engine.gate.release(key.symbol, "stale market data")


class _DeploymentHooks:
    """The runner hooks of a deployment: snapshots, staged activation, buffered writes,
    health checks, operator commands and the stop conditions."""

    def __init__(self, session: DeploymentSession, engine: Engine, store: SessionStore,
                 monitor: HealthMonitor, commands: OperatorCommands, result: SessionResult,
                 started: int, duration_ms: int | None, stop: Callable[[], bool] | None
                 ) -> None:
        self.session, self.engine, self.store = session, engine, store
        self.commands, self.result = commands, result
        self.started, self.duration_ms, self.stop = started, duration_ms, stop
        parts = session.parts
        self.schedule: SimulatedSchedule | BackgroundSchedule
        if parts.simulated:
            self.schedule = SimulatedSchedule(monitor, session.health_ms, started)
        else:
            self.schedule = BackgroundSchedule(monitor, session.health_ms, parts.clock.now_ms)
        self.last_snapshot, self.last_io = started, time.monotonic()
        self.last_ages: int | None = None
        self.market: MarketData | None = None

    def snapshot(self, now: int) -> None:  # buffered; flushed within a second
        b, engine = self.engine.broker, self.engine
        self.store.snapshot(now, engine.account_equity(), b.cash, len(b.positions),
                            engine.stats.events, engine.stats.errors)
        metrics = self.session.parts.exchange_metrics
        if metrics is not None:
            metrics(self.store, now)

    def on_close(self, now_ms: int) -> str | None:
        return None

    def write_ages(self, now: int) -> None:
        """The model-age budget's figures for the health check and the operators."""
        learning = self.engine.learning
        if not isinstance(learning, LearningController):
            return
        ages = learning.ages(now)
        if ages:
            budget = learning.max_age_ms / HOUR_MS if learning.max_age_ms else None
            self.store.model_ages(now, ages, budget)

    def on_heartbeat(self, now: int) -> str | None:
        result = self.result
        if now - self.last_snapshot >= self.session.snapshot_ms:
            self.snapshot(now)
            self.last_snapshot = now
        self.session.activate(self.engine, now - self.started, now)
        io_due = time.monotonic() - self.last_io >= IO_SECONDS
        if io_due:  # at most once a second of wall time (every heartbeat live)
            self.last_io = time.monotonic()
            self.store.flush()
            if self.market is not None:  # the dashboard's live prices, within a second
                self.store.prices(now, self.market.prices())
            self.session.refresh_blacklist(self.engine, now)
        if self.last_ages is None or now - self.last_ages >= max(AGES_MS,
                                                                  self.session.health_ms):
            self.last_ages = now
            self.write_ages(now)
        health = self.schedule.due(now, before=self.store.flush)
        stopped = ""
        if health is not None:
            result.health = health
            if health.drawdown_breached:
                dd = next(c for c in health.checks if c.name == "max_drawdown")
                stopped = "rollback"
                result.rollback_reason = f"automatic: health check {dd.line()}"
        if io_due and not stopped:
            stopped = self.commands.handle(now, result)
        if not stopped and self.stop is not None and self.stop():
            stopped = "signal"
        if not stopped and self.duration_ms is not None and now - self.started >= \
                self.duration_ms:
            stopped = "duration"
        return stopped or None


class DeploymentSession:
    """One deployment of the engine for ``symbols`` on every configured timeframe.

    ``activate_after`` staggers a rollout: a symbol listed with a positive offset is held in
    LEARNING ("not yet deployed") until that much clock time has passed."""

    def __init__(self, settings: Settings, symbols: list[str], parts: SessionParts, *,
                 mode: str, phase: int = 0, activate_after: dict[str, int] | None = None,
                 on_activated: Callable[[str], None] | None = None,
                 notes: dict[str, Any] | None = None) -> None:
        if mode not in MODES:
            raise EngineError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        if not symbols:
            raise EngineError("no symbols to trade")
        self.settings, self.symbols, self.parts = settings, symbols, parts
        self.mode, self.phase = mode, phase
        self.clock, self.runner = parts.clock, parts.runner
        self.activate_after = {s: t for s, t in (activate_after or {}).items() if t > 0}
        self.on_activated = on_activated
        self.notes = notes or {}
        self.snapshot_ms = int(settings.deployment.snapshot_seconds * 1000)
        self.health_ms = int(settings.deployment.health.interval_minutes * 60_000)
        self.deployment_id: int | None = None

    def run(self, duration_ms: int | None = None, stop: Callable[[], bool] | None = None
            ) -> SessionResult:
        """Run until ``duration_ms`` has passed on the clock, ``stop()`` says so, a ``stop``
        or ``rollback`` command arrives, max drawdown is breached, or Ctrl+C."""
        self.parts.lock.acquire(mode=self.mode, symbols=",".join(self.symbols),
                                phase=self.phase,
                                started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
        try:
            return self._run(duration_ms, stop)
        finally:
            self.parts.lock.release()

    def _run(self, duration_ms: int | None, stop: Callable[[], bool] | None) -> SessionResult:
        settings, clock, parts = self.settings, self.clock, self.parts
        started = clock.now_ms()
        strategy = parts.controls.strategy(settings)
        self.notes = {**self.notes, "strategy": strategy, "models_at_start": self._models()}
        deployment_id = parts.deployments.open(phase=self.phase, symbols=self.symbols,
                                               mode=self.mode, started_ms=started,
                                               notes=self.notes)
        self.deployment_id = deployment_id
        if parts.on_deployment is not None:
            parts.on_deployment(deployment_id)
        tstore = parts.store(self.mode, deployment_id)
        run_id = f"{self.mode}-d{deployment_id}"
        crashed = parts.deployments.mark_crashed(deployment_id)
        if crashed:
            log.warning("deployment(s) %s had ended without closing: marked crashed",
                        ", ".join(map(str, crashed)))
        try:
            setup = parts.broker(self.symbols, deployment_id, run_id, tstore)
            recovered = setup.recover(setup.broker, started)
        except TradeloopError as exc:  # e.g. the exchange unreachable at start
            self.notes["stopped_by"] = f"start-up failed: {exc}"
            parts.deployments.update(deployment_id, status="failed", ended_ms=clock.now_ms(),
                                     notes=self.notes)
            raise
        broker = setup.broker
        engine, learning = wire_engine(
            settings, self.symbols, book=CandleBook(), predictor=parts.predictor,
            broker=broker, store=tstore, runner=self.runner, run_id=run_id,
            notifier=parts.notifier, equity_sample_ms=self.snapshot_ms, strategy=strategy,
            history_limit=SESSION_HISTORY)
        engine.apply(recovered, started)
        pipeline = parts.pipeline(engine, tstore, self.symbols, setup.books) \
            if parts.pipeline else None
        if pipeline is not None:
            try:  # a restarted pipeline takes its instances up (the funded ones on their
                if not pipeline.restore(started):  # books of the account); an empty one
                    pipeline.arm(started)  # (a fresh or wiped store) starts
            except Exception as exc:
                pipeline.close()
                self.notes["stopped_by"] = f"start-up failed: graduation pipeline: {exc}"
                parts.deployments.update(deployment_id, status="failed",
                                         ended_ms=clock.now_ms(), notes=self.notes)
                raise
        # an exchange account's own balance, with what its instances hold
        self.notes["initial_equity"] = engine.account_equity()
        parts.deployments.update(deployment_id, notes=self.notes)
        keys = [SeriesKey(settings.exchange.name, s, tf) for s in self.symbols
                for tf in settings.timeframes.names]
        result = SessionResult(deployment_id, self.mode, "", started, started, engine, learning)
        monitor = parts.health(deployment_id, started, engine.account_equity())
        commands = OperatorCommands(settings, self.symbols, parts.controls, engine, learning,
                                    tstore, monitor, deployment_id, pipeline)
        hooks: _DeploymentHooks | None = None
        news: NewsJob | None = None
        try:
            market = parts.feed(keys, _Feed(engine, tstore, clock, parts.notifier))
            hooks = _DeploymentHooks(self, engine, tstore, monitor, commands, result,
                                     started, duration_ms, stop)
            hooks.market = market
            if parts.news is not None:
                news = parts.news(tstore)
            runner = Runner(engine, market, clock, [h for h in (hooks, pipeline, news)
                                                    if h is not None])
            runner.open()
            self.refresh_blacklist(engine, started)
            for s in self.activate_after:
                engine.gate.hold(s, NOT_DEPLOYED, started)
            for s in sorted(parts.controls.paused() & set(self.symbols)):
                engine.gate.hold(s, PAUSED, started)
                log.info("[%s] paused by the operator: no new positions until resumed", s)
            log.info("✓ %s session started: %s on %s, strategy %s (deployment %d)",
                     self.mode.capitalize(), ", ".join(self.symbols),
                     ", ".join(settings.timeframes.names), strategy, deployment_id)
            hooks.snapshot(started)
            tstore.flush()
            outcome = runner.run()
            result.stopped_by = outcome.stopped_by
            if outcome.stopped_by == HALT:
                result.stopped_by = "rollback"
                result.rollback_reason = f"automatic: {engine.halted_reason}"
            result.status = {"duration": "completed", "rollback": "rolled_back"}.get(
                result.stopped_by, "stopped")
        except KeyboardInterrupt:
            result.stopped_by, result.status = "interrupt", "stopped"
            raise
        finally:
            if hooks is not None:
                hooks.schedule.stop()
            if pipeline is not None:
                pipeline.close()
            if news is not None:
                news.close()
            result.ended_ms = clock.now_ms()
            rolled_back = result.status == "rolled_back"
            # an exchange account keeps its positions across a stop (restored at the next
            # start); a rollback closes them
            engine.finish(result.ended_ms, "rollback" if rolled_back else "end_of_run",
                          close=rolled_back or broker.close_on_stop)
            if hooks is not None:
                hooks.snapshot(result.ended_ms)
            tstore.flush()
            self.runner.close(wait=False)
            result.health = monitor.check(result.ended_ms)
            result.health_runs = monitor.runs
            if rolled_back and parts.notifier is not None:
                parts.notifier.notify("critical", "Deployment rolled back",
                                      f"deployment {deployment_id}: {result.rollback_reason}; "
                                      f"positions closed, data kept")
            self._close_deployment(deployment_id, result)
            log.info("Session %s (%s): %d candle closes, %d orders, %d trades",
                     result.status, result.stopped_by or "error", engine.stats.events,
                     engine.stats.orders, engine.stats.trades)
        return result

    def refresh_blacklist(self, engine: Engine, now: int) -> None:
        """The stored blacklist into the engine (an operator's lift reaches it within a
        second); a change is logged."""
        if self.parts.blacklist is None:
            return
        listed = self.parts.blacklist(now)
        for s in sorted(set(listed) - set(engine.blacklist)):
            log.warning("⛔ %s", listed[s])
        for s in sorted(set(engine.blacklist) - set(listed)):
            log.info("✓ %s no longer blacklisted", s)
        engine.blacklist = listed

    def activate(self, engine: Engine, elapsed_ms: int, now: int) -> None:
        """Release the symbols whose staged start has come."""
        for s, after in list(self.activate_after.items()):
            if elapsed_ms >= after:
                del self.activate_after[s]
                engine.gate.release(s, NOT_DEPLOYED)
                log.info("✅ %s deployed: trading enabled", s)
                if self.on_activated is not None:
                    self.on_activated(s)

    def _models(self) -> dict[str, dict[str, str | None]]:
        """The champion of every series at the start (version and MLflow run id)."""
        out: dict[str, dict[str, str | None]] = {}
        for s in self.symbols:
            for tf in self.settings.timeframes.names:
                try:
                    ref = self.parts.registry.champion(s, tf)
                except Exception:  # an unreadable pointer is reported by the checks
                    ref = None
                if ref is not None:
                    out[f"{s} {tf}"] = {"version": ref.version, "run_id": ref.run_id}
        return out

    def _close_deployment(self, deployment_id: int, res: SessionResult) -> None:
        notes: dict[str, Any] = {**self.notes, "stopped_by": res.stopped_by or "error",
                                 "rollback_reason": res.rollback_reason,
                                 "events": res.engine.stats.events,
                                 "orders": res.engine.stats.orders,
                                 "trades": res.engine.stats.trades,
                                 "end_equity": res.engine.account_equity(),
                                 "retraining": res.learning.stats()}
        self.parts.deployments.update(deployment_id, status=res.status, ended_ms=res.ended_ms,
                                      duration_hours=(res.ended_ms - res.started_ms) / HOUR_MS,
                                      notes=notes)
