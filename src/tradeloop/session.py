"""Live sessions: the same engine as a backtest, on live market data with a wall clock.

Paper mode = live candles (CcxtMarketData) + SimBroker; the production champions serve and a
worker process retrains off the hot path while the loop keeps serving. One engine per data
folder (instance lock). Operators reach a running session through the control channel
(``tradeloop retrain``, ``tradeloop stop``); SIGTERM and Ctrl+C stop it gracefully. At the end
open paper positions are closed at the last price, so the account's result is on record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, update

from tradeloop.adapters.broker.sim import SimBroker
from tradeloop.adapters.instance_lock import InstanceLock
from tradeloop.adapters.market_data.ccxt_feed import CcxtMarketData
from tradeloop.adapters.store.control_store import ControlChannel, ControlCommand
from tradeloop.adapters.store.schema import DeploymentRow
from tradeloop.adapters.store.trading_store import TradingStore, ts
from tradeloop.app import StoreHandle, champion_files, engine_window, wire_engine
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import EngineError, TradeloopError
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine
from tradeloop.engine.learning import LearningController, RetrainRunner
from tradeloop.ml.predictor import Predictor
from tradeloop.ports import CandleSource, Clock, ModelRegistry, Notifier
from tradeloop.settings import Settings

log = logging.getLogger("tradeloop.session")
MODES = ("paper", "testnet", "live")
HOUR_MS = 3_600_000
WARMUP_BARS = 1500  # enough history for the features at once and drift checks soon after


@dataclass
class SessionResult:
    deployment_id: int
    mode: str
    stopped_by: str
    started_ms: int
    ended_ms: int
    engine: Engine
    learning: LearningController
    commands: list[tuple[int, str, str]] = field(default_factory=list)


class Session:
    """One live run of the engine for ``symbols`` on every configured timeframe."""

    def __init__(self, settings: Settings, handle: StoreHandle, symbols: list[str], *,
                 mode: str, clock: Clock, source: CandleSource, runner: RetrainRunner,
                 registry: ModelRegistry | None = None, notifier: Notifier | None = None,
                 phase: int = 0, settle_seconds: float = 2.0,
                 heartbeat_seconds: float = 5.0, retry_seconds: float = 5.0) -> None:
        if mode not in MODES:
            raise EngineError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        if mode != "paper":
            raise EngineError(f"{mode} trading needs the exchange broker (CcxtBroker), which "
                              f"this version does not have yet; use --mode paper")
        if not symbols:
            raise EngineError("no symbols to trade")
        self.settings, self.handle, self.symbols = settings, handle, symbols
        self.mode, self.clock, self.source, self.runner = mode, clock, source, runner
        self.registry = registry or champion_files(settings)
        self.notifier, self.phase = notifier, phase
        self.settle_seconds, self.heartbeat_seconds = settle_seconds, heartbeat_seconds
        self.retry_seconds = retry_seconds
        self.lock = InstanceLock(settings.path(settings.paths.data_dir) / "engine.lock")
        self.controls = ControlChannel(handle.engine)

    def run(self, duration_ms: int | None = None, stop: Callable[[], bool] | None = None
            ) -> SessionResult:
        """Run until ``duration_ms`` has passed on the clock, ``stop()`` says so, a ``stop``
        command arrives, or Ctrl+C."""
        settings, clock = self.settings, self.clock
        self.lock.acquire(mode=self.mode, symbols=self.symbols)
        try:
            return self._run(settings, clock, duration_ms, stop)
        finally:
            self.lock.release()

    def _run(self, settings: Settings, clock: Clock, duration_ms: int | None,
             stop: Callable[[], bool] | None) -> SessionResult:
        started = clock.now_ms()
        deployment_id = self._open_deployment(started)
        tstore = TradingStore(self.handle.engine, self.mode, deployment_id)
        book = CandleBook()
        broker = SimBroker(settings.trading.initial_balance, settings.trading.fee_bps,
                           settings.trading.slippage_bps)
        engine, learning = wire_engine(
            settings, self.symbols, book=book, predictor=Predictor(self.registry),
            broker=broker, store=tstore, runner=self.runner,
            run_id=f"{self.mode}-d{deployment_id}", notifier=self.notifier)
        keys = [SeriesKey(settings.exchange.name, s, tf) for s in self.symbols
                for tf in settings.timeframes.names]

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

        market = CcxtMarketData(self.source, self.handle.candles, keys, clock,
                                warmup_bars=max(WARMUP_BARS, engine_window(settings)),
                                settle_seconds=self.settle_seconds,
                                heartbeat_seconds=self.heartbeat_seconds,
                                retry_seconds=self.retry_seconds,
                                on_error=on_error, on_stale=on_stale)
        result = SessionResult(deployment_id, self.mode, "", started, started, engine, learning)
        status = "failed"
        try:
            market.open(book)
            log.info("✓ %s session started: %s on %s (deployment %d)", self.mode.capitalize(),
                     ", ".join(self.symbols), ", ".join(settings.timeframes.names),
                     deployment_id)
            for event in market.closes():
                now = clock.now_ms()
                if event is not None:
                    engine.on_close(event.key, event.index, event.close_ms)
                    continue
                learning.on_tick(now)
                tstore.flush()
                result.stopped_by = self._handle_commands(learning, now, result)
                if not result.stopped_by and stop is not None and stop():
                    result.stopped_by = "signal"
                if not result.stopped_by and duration_ms is not None and \
                        now - started >= duration_ms:
                    result.stopped_by = "duration"
                if result.stopped_by:
                    break
            status = "completed" if result.stopped_by == "duration" else "stopped"
        except KeyboardInterrupt:
            result.stopped_by, status = "interrupt", "stopped"
            raise
        finally:
            result.ended_ms = clock.now_ms()
            engine.finish(result.ended_ms, "session_end")
            self.runner.close(wait=False)
            self._close_deployment(deployment_id, status, result)
            log.info("Session %s (%s): %d candle closes, %d orders, %d trades", status,
                     result.stopped_by or "error", engine.stats.events, engine.stats.orders,
                     len(engine.trades))
        return result

    def _handle_commands(self, learning: LearningController, now: int,
                         result: SessionResult) -> str:
        stop = ""
        for cmd in self.controls.pending():
            status, answer = self._command(cmd, learning, now)
            self.controls.answer(cmd.id, status, answer, now)
            result.commands.append((cmd.id, cmd.command, status))
            log.info("operator command %d (%s): %s — %s", cmd.id, cmd.command, status, answer)
            if cmd.command == "stop" and status == "done":
                stop = "operator"
        return stop

    def _command(self, cmd: ControlCommand, learning: LearningController, now: int
                 ) -> tuple[str, str]:
        if cmd.command == "stop":
            return "done", "stopping"
        if cmd.command == "retrain":
            if cmd.symbol not in self.symbols:
                return "rejected", f"{cmd.symbol} is not traded by this session " \
                                   f"({', '.join(self.symbols)})"
            tf = cmd.timeframe or learning.primary_timeframe()
            if tf not in self.settings.timeframes.names:
                return "rejected", f"timeframe {tf} is not configured"
            if learning.request(cmd.symbol, tf, "manual", now):
                return "done", f"retraining {cmd.symbol} {tf} started"
            return "rejected", f"{cmd.symbol} {tf} is already retraining"
        return "rejected", f"unknown command {cmd.command!r}"

    def _open_deployment(self, now: int) -> int:
        with self.handle.engine.begin() as conn:
            pk = conn.execute(insert(DeploymentRow).values(
                phase=self.phase, symbols=",".join(self.symbols), mode=self.mode,
                status="running", started_at=ts(now), notes="session")).inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def _close_deployment(self, deployment_id: int, status: str, res: SessionResult) -> None:
        notes: dict[str, Any] = {"stopped_by": res.stopped_by or "error",
                                 "events": res.engine.stats.events,
                                 "orders": res.engine.stats.orders,
                                 "trades": len(res.engine.trades),
                                 "end_equity": res.engine.broker.equity(),
                                 "retraining": res.learning.stats()}
        with self.handle.engine.begin() as conn:
            conn.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id).values(
                status=status, ended_at=ts(res.ended_ms),
                duration_hours=(res.ended_ms - res.started_ms) / HOUR_MS,
                notes=json.dumps(notes)))
