"""Sessions: the engine run as a deployment, on live market data or on replayed history.

Paper mode = live candles (CcxtMarketData) + SimBroker + a wall clock; replay = stored
candles (ReplayMarketData) driving a simulated clock at full speed. Everything else is the
same code: the production loop, the deployments row, equity snapshots (the deployment's
heartbeat), scheduled health checks, the operator's control channel (retrain, stop,
rollback, pause/resume a symbol, switch the strategy, wipe data), the automatic rollback
on a max-drawdown breach, and the staged activation of symbols of a full rollout. One
engine per data folder (instance lock). At the end open paper positions are closed at the
last price, so the account's result is on record.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update

from tradeloop.adapters.broker.ccxt_broker import CcxtBroker
from tradeloop.adapters.broker.sim import SimBroker
from tradeloop.adapters.clock import SimClock, WallClock
from tradeloop.adapters.exchange.gateway import ExchangeGateway
from tradeloop.adapters.instance_lock import InstanceLock
from tradeloop.adapters.market_data.ccxt_feed import CcxtMarketData
from tradeloop.adapters.market_data.replay import ReplayMarketData
from tradeloop.adapters.market_data.ws_candles import WebsocketCandles
from tradeloop.adapters.notify.log_notifier import LogNotifier
from tradeloop.adapters.store.control_store import ControlChannel, ControlCommand
from tradeloop.adapters.store.runtime_state import STRATEGY, RuntimeState
from tradeloop.adapters.store.schema import DeploymentRow
from tradeloop.adapters.store.trading_store import TradingStore, ts
from tradeloop.adapters.store.wipe import summary, wipe_trading_state
from tradeloop.app import StoreHandle, champion_files, engine_window, strategy_for, wire_engine
from tradeloop.deploy.health import BackgroundSchedule, HealthMonitor, SimulatedSchedule
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import EngineError, TradeloopError
from tradeloop.domain.health import Health
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine
from tradeloop.engine.learning import LearningController, RetrainRunner
from tradeloop.ml.predictor import Predictor
from tradeloop.ports import Broker, CandleSource, Clock, MarketData, ModelRegistry, Notifier
from tradeloop.ports import Predictor as PredictorPort
from tradeloop.recovery import recover
from tradeloop.settings import Settings
from tradeloop.strategies.catalog import STRATEGIES

log = logging.getLogger("tradeloop.session")
MODES = ("replay", "paper", "testnet", "live")
HOUR_MS = 3_600_000
WARMUP_BARS = 1500  # enough history for the features at once and drift checks soon after
NOT_DEPLOYED = "not yet deployed"
PAUSED = "operator pause"
IO_SECONDS = 1.0  # wall time between flushes / control-channel polls


@dataclass
class FeedHooks:
    """What a live feed reports besides candles."""

    on_error: Callable[[SeriesKey, TradeloopError], None]
    on_stale: Callable[[SeriesKey, bool, int], None]


FeedFactory = Callable[[list[SeriesKey], FeedHooks], MarketData]
# (symbols, the session's store, run id) -> the exchange broker of a testnet/live session
BrokerFactory = Callable[[list[str], TradingStore, str], Broker]


def live_feed(source: CandleSource, handle: StoreHandle, clock: Clock, settings: Settings, *,
              settle_seconds: float = 2.0, heartbeat_seconds: float = 5.0,
              retry_seconds: float = 5.0,
              stream: Callable[[list[SeriesKey]], WebsocketCandles] | None = None
              ) -> FeedFactory:
    """Closed candles from the exchange as they close (stored as they arrive): from the
    websocket ``stream`` when there is one and it is up, else polled by REST."""
    def make(keys: list[SeriesKey], hooks: FeedHooks) -> MarketData:
        return CcxtMarketData(source, handle.candles, keys, clock,
                              warmup_bars=max(WARMUP_BARS, engine_window(settings)),
                              settle_seconds=settle_seconds,
                              heartbeat_seconds=heartbeat_seconds, retry_seconds=retry_seconds,
                              max_missing_bars=settings.exchange.max_missing_bars,
                              on_error=hooks.on_error, on_stale=hooks.on_stale,
                              stream=stream(keys) if stream is not None else None)
    return make


def replay_feed(handle: StoreHandle, clock: SimClock, settings: Settings, start_ms: int,
                end_ms: int, heartbeat_ms: int = 60_000) -> FeedFactory:
    """Stored candles of ``(start, end]`` replayed at full speed on the simulated clock."""
    def make(keys: list[SeriesKey], hooks: FeedHooks) -> MarketData:
        return ReplayMarketData(handle.candles, keys, start_ms, end_ms,
                                warmup_bars=max(WARMUP_BARS, engine_window(settings)),
                                clock=clock, heartbeat_ms=heartbeat_ms)
    return make


@dataclass
class _Live:
    """What the operator's commands act on while a session runs."""

    engine: Engine
    learning: LearningController
    store: TradingStore
    broker: SimBroker | CcxtBroker
    monitor: HealthMonitor
    snapshot: Callable[[int], None]


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


class Session:
    """One deployment of the engine for ``symbols`` on every configured timeframe.

    ``activate_after`` staggers a rollout: a symbol listed with a positive offset is held in
    LEARNING ("not yet deployed") until that much clock time has passed."""

    def __init__(self, settings: Settings, handle: StoreHandle, symbols: list[str], *,
                 mode: str, clock: Clock, feed: FeedFactory, runner: RetrainRunner,
                 registry: ModelRegistry | None = None, notifier: Notifier | None = None,
                 phase: int = 0, activate_after: dict[str, int] | None = None,
                 on_activated: Callable[[str], None] | None = None,
                 notes: dict[str, Any] | None = None,
                 predictor: PredictorPort | None = None,
                 broker: BrokerFactory | None = None,
                 gateway: ExchangeGateway | None = None) -> None:
        if mode not in MODES:
            raise EngineError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        if mode in ("testnet", "live") and broker is None:
            raise EngineError(f"{mode} trading needs the exchange broker")
        if not symbols:
            raise EngineError("no symbols to trade")
        self.settings, self.handle, self.symbols = settings, handle, symbols
        self.mode, self.clock, self.feed, self.runner = mode, clock, feed, runner
        self.registry = registry or champion_files(settings)
        self.notifier, self.phase = notifier, phase
        self.activate_after = {s: t for s, t in (activate_after or {}).items() if t > 0}
        self.on_activated = on_activated
        self.notes = notes or {}
        self.predictor = predictor
        self.broker_factory, self.gateway = broker, gateway
        self.snapshot_ms = int(settings.deployment.snapshot_seconds * 1000)
        self.health_ms = int(settings.deployment.health.interval_minutes * 60_000)
        self.lock = InstanceLock(settings.path(settings.paths.data_dir) / "engine.lock")
        self.controls = ControlChannel(handle.engine)
        self.state = RuntimeState(handle.engine)
        self.deployment_id: int | None = None

    def run(self, duration_ms: int | None = None, stop: Callable[[], bool] | None = None
            ) -> SessionResult:
        """Run until ``duration_ms`` has passed on the clock, ``stop()`` says so, a ``stop``
        or ``rollback`` command arrives, max drawdown is breached, or Ctrl+C."""
        self.lock.acquire(mode=self.mode, symbols=",".join(self.symbols), phase=self.phase,
                          started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
        try:
            return self._run(duration_ms, stop)
        finally:
            self.lock.release()

    def _run(self, duration_ms: int | None, stop: Callable[[], bool] | None) -> SessionResult:
        settings, clock = self.settings, self.clock
        started = clock.now_ms()
        strategy = self.state.strategy(settings.trading.strategy)
        if strategy not in STRATEGIES:
            log.warning("stored strategy %r is unknown; using %s from the config", strategy,
                        settings.trading.strategy)
            strategy = settings.trading.strategy
        self.notes = {**self.notes, "strategy": strategy, "models_at_start": self._models()}
        deployment_id = self._open_deployment(started)
        self.deployment_id = deployment_id
        if isinstance(self.notifier, LogNotifier):
            self.notifier.deployment_id = deployment_id
        tstore = TradingStore(self.handle.engine, self.mode, deployment_id)
        book = CandleBook()
        run_id = f"{self.mode}-d{deployment_id}"
        broker: SimBroker | CcxtBroker
        if self.broker_factory is None:
            broker = SimBroker(settings.trading.initial_balance, settings.trading.fee_bps,
                               settings.trading.slippage_bps)
        else:
            made = self.broker_factory(self.symbols, tstore, run_id)
            assert isinstance(made, CcxtBroker)
            broker = made
        try:
            recovered = recover(self.handle.engine, broker, tstore, self.mode, self.symbols,
                                deployment_id, started, self.notifier)
        except TradeloopError as exc:  # e.g. the exchange unreachable at start
            self.notes["stopped_by"] = f"start-up failed: {exc}"
            self._save_notes(deployment_id, status="failed", ended_ms=clock.now_ms())
            raise
        predictor = self.predictor or Predictor(self.registry)
        engine, learning = wire_engine(
            settings, self.symbols, book=book, predictor=predictor,
            broker=broker, store=tstore, runner=self.runner,
            run_id=run_id, notifier=self.notifier,
            equity_sample_ms=self.snapshot_ms, strategy=strategy)
        engine.apply(recovered, started)
        self.notes["initial_equity"] = broker.equity()  # an exchange account's own balance
        self._save_notes(deployment_id)
        keys = [SeriesKey(settings.exchange.name, s, tf) for s in self.symbols
                for tf in settings.timeframes.names]
        result = SessionResult(deployment_id, self.mode, "", started, started, engine, learning)

        def on_error(key: SeriesKey, exc: TradeloopError) -> None:
            tstore.error(clock.now_ms(), type(exc).__name__, str(exc), key.symbol,
                         key.timeframe, "market_data")

        def on_stale(key: SeriesKey, stale: bool, missing: int) -> None:
            now = clock.now_ms()
            if stale:
                t = engine.gate.hold(key.symbol, "stale market data", now)
                if t is not None:
                    engine.record_transition(t)
                if self.notifier is not None:
                    self.notifier.notify("warning", "Stale market data",
                                         f"{key.timeframe}: {missing} candles missing",
                                         key.symbol)
            else:
                engine.gate.release(key.symbol, "stale market data")

        def snapshot(now: int) -> None:  # buffered; flushed within a second
            tstore.snapshot(now, broker.equity(), broker.cash, len(broker.positions),
                            engine.stats.events, engine.stats.errors)
            if self.gateway is not None:
                tstore.exchange_metrics(now, self.gateway.snapshot(),
                                        settings.exchange.rate_limit_per_minute)

        monitor = HealthMonitor(self.handle.engine, deployment_id, started, settings,
                                self.notifier, initial_equity=broker.equity())
        schedule: SimulatedSchedule | BackgroundSchedule
        if not isinstance(clock, WallClock):  # simulated time: replay, tests
            schedule = SimulatedSchedule(monitor, self.health_ms, started)
        else:
            schedule = BackgroundSchedule(monitor, self.health_ms, clock.now_ms)
        market: MarketData | None = None
        try:
            market = self.feed(keys, FeedHooks(on_error, on_stale))
            market.open(book)
            if isinstance(market, ReplayMarketData) and isinstance(predictor, Predictor):
                for key, candles in market.series.items():
                    predictor.preload_features(key.symbol, key.timeframe, candles)
            for s in self.activate_after:
                engine.gate.hold(s, NOT_DEPLOYED, started)
            for s in sorted(self.state.paused() & set(self.symbols)):
                engine.gate.hold(s, PAUSED, started)
                log.info("[%s] paused by the operator: no new positions until resumed", s)
            log.info("✓ %s session started: %s on %s, strategy %s (deployment %d)",
                     self.mode.capitalize(), ", ".join(self.symbols),
                     ", ".join(settings.timeframes.names), strategy, deployment_id)
            live = _Live(engine, learning, tstore, broker, monitor, snapshot)
            snapshot(started)
            tstore.flush()
            last_snapshot, last_io = started, time.monotonic()
            for event in market.closes():
                now = clock.now_ms()
                if event is not None:
                    engine.on_close(event.key, event.index, event.close_ms)
                    if engine.risk.halted_reason is not None:
                        result.stopped_by = "rollback"
                        result.rollback_reason = f"automatic: {engine.risk.halted_reason}"
                        break
                    continue
                learning.on_tick(now)
                try:
                    engine.heartbeat(now)
                except TradeloopError as exc:
                    log.warning("broker: %s", exc)
                    tstore.error(now, type(exc).__name__, str(exc), None, None, "broker")
                if now - last_snapshot >= self.snapshot_ms:
                    snapshot(now)
                    last_snapshot = now
                self._activate(engine, now - started, now)
                io_due = time.monotonic() - last_io >= IO_SECONDS
                if io_due:  # at most once a second of wall time (every heartbeat live)
                    last_io = time.monotonic()
                    tstore.flush()
                health = schedule.due(now, before=tstore.flush)
                if health is not None:
                    result.health = health
                    if health.drawdown_breached:
                        dd = next(c for c in health.checks if c.name == "max_drawdown")
                        result.stopped_by = "rollback"
                        result.rollback_reason = f"automatic: health check {dd.line()}"
                if io_due and not result.stopped_by:
                    result.stopped_by = self._handle_commands(live, now, result)
                if not result.stopped_by and stop is not None and stop():
                    result.stopped_by = "signal"
                if not result.stopped_by and duration_ms is not None and \
                        now - started >= duration_ms:
                    result.stopped_by = "duration"
                if result.stopped_by:
                    break
            result.status = {"duration": "completed", "rollback": "rolled_back"}.get(
                result.stopped_by, "stopped")
            result.stopped_by = result.stopped_by or "end_of_data"
        except KeyboardInterrupt:
            result.stopped_by, result.status = "interrupt", "stopped"
            raise
        finally:
            schedule.stop()
            if isinstance(market, CcxtMarketData):
                market.close()
            result.ended_ms = clock.now_ms()
            rolled_back = result.status == "rolled_back"
            # an exchange account keeps its positions across a stop (restored at the next
            # start); a rollback closes them
            engine.finish(result.ended_ms, "rollback" if rolled_back else "session_end",
                          close=rolled_back or not isinstance(broker, CcxtBroker))
            snapshot(result.ended_ms)
            tstore.flush()
            self.runner.close(wait=False)
            result.health = monitor.check(result.ended_ms)
            result.health_runs = monitor.runs
            if rolled_back and self.notifier is not None:
                self.notifier.notify("critical", "Deployment rolled back",
                                     f"deployment {deployment_id}: {result.rollback_reason}; "
                                     f"positions closed, data kept")
            self._close_deployment(deployment_id, result)
            log.info("Session %s (%s): %d candle closes, %d orders, %d trades",
                     result.status, result.stopped_by or "error", engine.stats.events,
                     engine.stats.orders, len(engine.trades))
        return result

    def _activate(self, engine: Engine, elapsed_ms: int, now: int) -> None:
        for s, after in list(self.activate_after.items()):
            if elapsed_ms >= after:
                del self.activate_after[s]
                engine.gate.release(s, NOT_DEPLOYED)
                log.info("✅ %s deployed: trading enabled", s)
                if self.on_activated is not None:
                    self.on_activated(s)

    def _handle_commands(self, live: _Live, now: int, result: SessionResult) -> str:
        stop = ""
        for cmd in self.controls.pending():
            try:
                status, answer = self._command(cmd, live, now)
            except TradeloopError as exc:
                status, answer = "rejected", str(exc)
            self.controls.answer(cmd.id, status, answer, now)
            result.commands.append((cmd.id, cmd.command, status))
            log.info("operator command %d (%s): %s — %s", cmd.id, cmd.command, status, answer)
            if cmd.command in ("stop", "rollback") and status == "done":
                stop = "operator" if cmd.command == "stop" else "rollback"
                if cmd.command == "rollback":
                    result.rollback_reason = "operator rollback"
        return stop

    def _command(self, cmd: ControlCommand, live: _Live, now: int) -> tuple[str, str]:
        learning, engine = live.learning, live.engine
        by = f"command {cmd.id}"
        symbol = cmd.symbol or ""
        if cmd.command in ("pause", "resume", "retrain") and symbol not in self.symbols:
            return "rejected", f"{cmd.symbol} is not traded by this session " \
                               f"({', '.join(self.symbols)})"
        if cmd.command == "pause":
            t = engine.gate.hold(symbol, PAUSED, now)
            if t is not None:
                engine.record_transition(t)
            self.state.set_paused(symbol, True, now, by)
            return "done", f"{symbol} paused: no new positions until resumed"
        if cmd.command == "resume":
            engine.gate.release(symbol, PAUSED)
            self.state.set_paused(symbol, False, now, by)
            return "done", f"{symbol} resumed"
        if cmd.command == "strategy":
            name = cmd.argument or ""
            if name not in STRATEGIES:
                return "rejected", f"unknown strategy {name!r}; choose one of " \
                                   f"{', '.join(STRATEGIES)}"
            before = engine.strategy.name
            engine.strategy = strategy_for(self.settings, name)
            self.state.put(STRATEGY, name, now, by)
            log.info("✓ strategy switched: %s -> %s", before, name)
            return "done", f"strategy {before} -> {name}"
        if cmd.command == "wipe":
            return self._wipe(live, now)
        if cmd.command == "stop":
            return "done", "stopping"
        if cmd.command == "rollback":
            return "done", f"rolling back deployment {self.deployment_id}"
        if cmd.command == "retrain":
            tf = cmd.timeframe or learning.primary_timeframe()
            if tf not in self.settings.timeframes.names:
                return "rejected", f"timeframe {tf} is not configured"
            if learning.request(symbol, tf, "manual", now):
                return "done", f"retraining {cmd.symbol} {tf} started"
            return "rejected", f"{cmd.symbol} {tf} is already retraining"
        return "rejected", f"unknown command {cmd.command!r}"

    def _wipe(self, live: _Live, now: int) -> tuple[str, str]:
        """Wipe Data while running: the simulated account starts again at its initial cash
        (open positions are discarded, not sold), every symbol back to LEARNING, and the
        trading tables cleared; candles, models and the deployment record stay."""
        live.store.flush()
        live.broker.reset()  # an exchange account refuses unless it is flat
        live.engine.reset(now, frozenset({PAUSED}))
        live.learning.reset()
        live.store.forget()
        removed = wipe_trading_state(self.handle.engine)
        live.monitor.restart(now)
        live.snapshot(now)
        live.store.flush()
        log.warning("🗑 Wipe Data: %s", summary(removed))
        return "done", summary(removed)

    def _models(self) -> dict[str, dict[str, str | None]]:
        """The champion of every series at the start (version and MLflow run id)."""
        out: dict[str, dict[str, str | None]] = {}
        for s in self.symbols:
            for tf in self.settings.timeframes.names:
                try:
                    ref = self.registry.champion(s, tf)
                except Exception:  # an unreadable pointer is reported by the checks
                    ref = None
                if ref is not None:
                    out[f"{s} {tf}"] = {"version": ref.version, "run_id": ref.run_id}
        return out

    def _open_deployment(self, now: int) -> int:
        with self.handle.engine.begin() as conn:
            pk = conn.execute(insert(DeploymentRow).values(
                phase=self.phase, symbols=",".join(self.symbols), mode=self.mode,
                status="running", started_at=ts(now),
                notes=json.dumps(self.notes))).inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def _save_notes(self, deployment_id: int, status: str | None = None,
                    ended_ms: int | None = None) -> None:
        values: dict[str, Any] = {"notes": json.dumps(self.notes, default=str)}
        if status is not None:
            values["status"] = status
        if ended_ms is not None:
            values["ended_at"] = ts(ended_ms)
        with self.handle.engine.begin() as conn:
            conn.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id)
                         .values(**values))

    def _close_deployment(self, deployment_id: int, res: SessionResult) -> None:
        notes: dict[str, Any] = {**self.notes, "stopped_by": res.stopped_by or "error",
                                 "rollback_reason": res.rollback_reason,
                                 "events": res.engine.stats.events,
                                 "orders": res.engine.stats.orders,
                                 "trades": len(res.engine.trades),
                                 "end_equity": res.engine.broker.equity(),
                                 "retraining": res.learning.stats()}
        with self.handle.engine.begin() as conn:
            conn.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id).values(
                status=res.status, ended_at=ts(res.ended_ms),
                duration_hours=(res.ended_ms - res.started_ms) / HOUR_MS,
                notes=json.dumps(notes, default=str)))
