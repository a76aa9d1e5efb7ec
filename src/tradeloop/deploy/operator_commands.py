"""The operator's commands to a running deployment (control channel): retrain, stop,
rollback, pause/resume a symbol, switch the strategy, Wipe Data. Each is answered with a
status and a sentence; a bad command is rejected with the reason, never raised."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from tradeloop.deploy.live_pipeline import LivePipeline
from tradeloop.domain.commands import ControlCommand
from tradeloop.domain.errors import TradeloopError
from tradeloop.engine.assembly import risk_limits, strategy_for
from tradeloop.engine.engine import Engine
from tradeloop.engine.learning import LearningController
from tradeloop.monitoring.health_checks import HealthMonitor
from tradeloop.settings import Settings
from tradeloop.strategies.imported import check_choice

if TYPE_CHECKING:
    from tradeloop.deploy.session import SessionResult, SessionStore

log = logging.getLogger("tradeloop.session")
PAUSED = "operator pause"


class SessionControls(Protocol):
    """The control channel and the operator's stored choices, as a session uses them."""

    def pending(self) -> list[ControlCommand]: ...

    def answer(self, command_id: int, status: str, result: str, now_ms: int) -> None: ...

    def strategy(self, settings: Settings) -> str: ...

    def set_strategy(self, name: str, now_ms: int, by: str) -> None: ...

    def paused(self) -> set[str]: ...

    def set_paused(self, symbol: str, paused: bool, now_ms: int, by: str) -> None: ...

    def wipe(self) -> str:
        """Clear the trading tables (one transaction); returns what was removed."""
        ...


class OperatorCommands:
    """Answers the pending commands of one deployment."""

    def __init__(self, settings: Settings, symbols: list[str], controls: SessionControls,
                 engine: Engine, learning: LearningController, store: SessionStore,
                 monitor: HealthMonitor, deployment_id: int,
                 pipeline: LivePipeline | None = None) -> None:
        self.settings, self.symbols, self.controls = settings, symbols, controls
        self.engine, self.learning, self.store = engine, learning, store
        self.monitor, self.deployment_id = monitor, deployment_id
        self.pipeline = pipeline

    def handle(self, now: int, result: SessionResult) -> str:
        """Answer every pending command; returns "operator"/"rollback" when one stops the
        session, else ""."""
        stop = ""
        for cmd in self.controls.pending():
            try:
                status, answer = self._command(cmd, now)
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

    def _command(self, cmd: ControlCommand, now: int) -> tuple[str, str]:
        learning, engine = self.learning, self.engine
        by = f"command {cmd.id}"
        symbol = cmd.symbol or ""
        if cmd.command in ("pause", "resume", "retrain") and symbol not in self.symbols:
            return "rejected", f"{cmd.symbol} is not traded by this session " \
                               f"({', '.join(self.symbols)})"
        if cmd.command == "pause":
            t = engine.gate.hold(symbol, PAUSED, now)
            if t is not None:
                engine.record_transition(t)
            self.controls.set_paused(symbol, True, now, by)
            return "done", f"{symbol} paused: no new positions until resumed"
        if cmd.command == "resume":
            engine.gate.release(symbol, PAUSED)
            self.controls.set_paused(symbol, False, now, by)
            return "done", f"{symbol} resumed"
        if cmd.command == "strategy":
            name = cmd.argument or ""
            try:
                check_choice(self.settings, name)
            except TradeloopError as exc:
                return "rejected", str(exc)
            before = engine.strategy.name
            engine.set_strategy(strategy_for(self.settings, name),
                                risk_limits(self.settings, name))
            self.controls.set_strategy(name, now, by)
            log.info("✓ strategy switched: %s -> %s", before, name)
            return "done", f"strategy {before} -> {name}"
        if cmd.command == "wipe":
            return self._wipe(now)
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

    def _wipe(self, now: int) -> tuple[str, str]:
        """Wipe Data while running: the simulated account starts again at its initial cash
        (open positions are discarded, not sold), every symbol back to LEARNING, the other
        strategy instances stopped, and the trading tables cleared; candles, models and the
        deployment record stay. The graduation pipeline then starts afresh."""
        engine = self.engine
        self.store.flush()
        for desk in engine.desks:  # an exchange account refuses unless each book is flat
            if desk.account:
                desk.broker.reset()
        self.store.forget()
        removed = self.controls.wipe()
        engine.broker.reset()  # the instances' sub-ledgers are gone: the account is its own
        engine.reset(now, frozenset({PAUSED}))  # its risk baselines from that balance
        self.learning.reset()
        self.monitor.restart(now)
        b = engine.broker
        self.store.snapshot(now, b.equity(), b.cash, len(b.positions), engine.stats.events,
                            engine.stats.errors)
        self.store.flush()
        log.warning("🗑 Wipe Data: %s", removed)
        if self.pipeline is not None:
            self.pipeline.arm(now)
            removed += (f"; the graduation pipeline starts in "
                        f"{self.settings.graduation.start_delay_seconds:g} s")
        return "done", removed
