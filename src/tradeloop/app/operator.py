"""Operator controls (dashboard, CLI): each request is recorded in ``control_commands``; the
running deployment picks it up through the control channel, or, when nothing runs, it is
applied here at once (a pause, a strategy choice, a wipe) or refused with the reason.

Emergency stop = rollback of the running deployment (positions closed, history kept).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from tradeloop.adapters.store.blacklist_records import Blacklist, BlacklistEntry
from tradeloop.adapters.store.control_store import COMMANDS, ControlChannel
from tradeloop.adapters.store.runtime_state import STRATEGY, RuntimeState
from tradeloop.adapters.store.wipe import summary, wipe_trading_state
from tradeloop.app.stores import engine_lock
from tradeloop.domain.errors import ConfigError
from tradeloop.settings import Settings
from tradeloop.strategies.imported import check_choice

LABELS = {
    "rollback": "Emergency stop (rollback)", "stop": "Stop", "pause": "Pause",
    "resume": "Resume", "retrain": "Manual retrain", "strategy": "Switch strategy",
    "wipe": "Wipe Data",
}


@dataclass(frozen=True)
class Outcome:
    command_id: int
    status: str  # pending (the running deployment will answer) | done | rejected
    message: str


class Operator:
    """Requests operator actions on one data folder's deployment."""

    def __init__(self, settings: Settings, engine: Engine, *, by: str = "dashboard",
                 now_ms: Callable[[], int] | None = None) -> None:
        self.settings, self.engine, self.by = settings, engine, by
        self.channel = ControlChannel(engine)
        self.state = RuntimeState(engine)
        self.lock = engine_lock(settings)
        self._now = now_ms or (lambda: int(time.time() * 1000))

    def running(self) -> dict[str, object] | None:
        """The running engine's lock info, or None."""
        return self.lock.held_elsewhere()

    # -- the symbol blacklist (the running session reads it within a second) ----------------
    def blacklist(self, symbol: str, hours: float, reason: str) -> str:
        if symbol not in self.settings.symbols:
            raise ConfigError(f"{symbol} is not a configured symbol "
                              f"({', '.join(self.settings.symbols)})")
        if not hours > 0:
            raise ConfigError(f"blacklist hours must be above 0, got {hours}")
        if not reason.strip():
            raise ConfigError("a blacklist entry needs a reason")
        Blacklist(self.engine).add(symbol, f"{reason.strip()} (by {self.by})", "operator",
                                   self._now(), hours)
        return f"{symbol} blacklisted for {hours:g} h"

    def blacklist_entries(self, limit: int = 100) -> list[BlacklistEntry]:
        """The latest entries, newest first (in force, expired and lifted)."""
        return Blacklist(self.engine).entries(limit)

    def lift_blacklist(self, symbol: str) -> str:
        n = Blacklist(self.engine).lift(symbol, self._now(), self.by)
        if not n:
            raise ConfigError(f"{symbol} is not blacklisted")
        return f"{symbol} may be traded again"

    def request(self, command: str, *, symbol: str | None = None,
                timeframe: str | None = None, argument: str | None = None) -> Outcome:
        self._validate(command, symbol, timeframe, argument)
        now = self._now()
        cid = self.channel.request(command, now, symbol=symbol, timeframe=timeframe,
                                   argument=argument, requested_by=self.by)
        if self.running() is not None:
            return Outcome(cid, "pending", "sent to the running deployment")
        status, message = self._apply(command, symbol, timeframe, argument, now)
        self.channel.answer(cid, status, message, self._now())
        return Outcome(cid, status, message)

    def answer(self, command_id: int) -> tuple[str, str | None]:
        return self.channel.status(command_id)

    def _validate(self, command: str, symbol: str | None, timeframe: str | None,
                  argument: str | None) -> None:
        if command not in COMMANDS:
            raise ConfigError(f"unknown command {command!r}; expected one of "
                              f"{', '.join(COMMANDS)}")
        if command in ("pause", "resume", "retrain") and not symbol:
            raise ConfigError(f"{command} needs a symbol")
        if command == "strategy":
            check_choice(self.settings, argument or "")
        if timeframe is not None and timeframe not in self.settings.timeframes.names:
            raise ConfigError(f"timeframe {timeframe} is not configured "
                              f"({', '.join(self.settings.timeframes.names)})")

    def _apply(self, command: str, symbol: str | None, timeframe: str | None,
               argument: str | None, now: int) -> tuple[str, str]:
        """No deployment runs: apply what can be applied to the stored state."""
        by = f"{self.by} (no deployment running)"
        if command == "pause" and symbol:
            self.state.set_paused(symbol, True, now, by)
            return "done", f"{symbol} paused: the next deployment opens no positions on it"
        if command == "resume" and symbol:
            self.state.set_paused(symbol, False, now, by)
            return "done", f"{symbol} resumed"
        if command == "strategy" and argument:
            before = self.state.strategy(self.settings.trading.strategy)
            self.state.put(STRATEGY, argument, now, by)
            return "done", f"strategy {before} -> {argument} (used by the next deployment)"
        if command == "wipe":
            return "done", summary(wipe_trading_state(self.engine))
        if command == "retrain" and symbol:
            return self._retrain_in_background(symbol, timeframe)
        return "rejected", "no deployment is running"

    def _retrain_in_background(self, symbol: str, timeframe: str | None) -> tuple[str, str]:
        """`tradeloop retrain` in a detached child process (it records its own row)."""
        logs = self.settings.path(self.settings.paths.logs_dir)
        logs.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "tradeloop", "--config",
               str(self.settings.base_dir / "config.yaml"), "retrain", "--symbol", symbol]
        if timeframe:
            cmd += ["--interval", timeframe]
        log_path = logs / "manual_retrain.log"
        with open(log_path, "ab") as out:
            # this Python running tradeloop, a list of arguments, no shell
            proc = subprocess.Popen(cmd, cwd=self.settings.base_dir, stdout=out,  # noqa: S603
                                    stderr=subprocess.STDOUT, start_new_session=True)
        return "done", (f"no deployment running: retraining {symbol} in the background "
                        f"(pid {proc.pid}, log {log_path})")
