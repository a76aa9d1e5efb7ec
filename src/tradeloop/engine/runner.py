"""The one driver loop of every mode: backtest, rehearsed phase, paper, testnet and live.

It opens the market data into the engine (warm-up history, precomputed inputs), then hands
every closed candle to the engine and every heartbeat to the engine's housekeeping (finished
retrains, the broker's outstanding orders), and runs the hooks of the run: a deployment's
snapshots, health checks, operator commands and stop conditions; a backtest's progress. The
loop stops at the end of the data, when a hook says so, or when the risk manager halts
trading on a max-drawdown breach (the same rule in every mode).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tradeloop.engine.engine import Engine
from tradeloop.engine.learning import DRIFT_HISTORY
from tradeloop.ports import Clock, MarketData

log = logging.getLogger("tradeloop.runner")
HALT = "halt"
END_OF_DATA = "end_of_data"


def warmup_bars(window: int, strategy_history: int = 1) -> int:
    """Candles of history before the first event of every run: enough for the predictor's
    window, the strategy's indicators and a feature-drift check (its reference comes with
    the model: the champion's training window)."""
    return max(window, strategy_history, DRIFT_HISTORY)


class RunHook(Protocol):
    """Something a run does besides trading. Each method returns a stop reason or None."""

    def on_close(self, now_ms: int) -> str | None: ...

    def on_heartbeat(self, now_ms: int) -> str | None: ...


@dataclass
class RunOutcome:
    stopped_by: str  # END_OF_DATA, HALT, or what a hook said
    events: int
    ended_ms: int


class Progress:
    """A hook that reports ``(done, total)`` every ``every`` candle closes."""

    def __init__(self, total: int, report: Callable[[int, int], None],
                 every: int = 2000) -> None:
        self.total, self.report, self.every = total, report, every
        self.done = 0

    def on_close(self, now_ms: int) -> str | None:
        self.done += 1
        if self.done % self.every == 0:
            self.report(self.done, self.total)
        return None

    def on_heartbeat(self, now_ms: int) -> str | None:
        return None


class Runner:
    """Drives ``engine`` from ``market`` on ``clock`` with ``hooks``."""

    def __init__(self, engine: Engine, market: MarketData, clock: Clock,
                 hooks: Sequence[RunHook] = ()) -> None:
        self.engine, self.market, self.clock = engine, market, clock
        self.hooks = list(hooks)
        self.opened = False

    def open(self) -> None:
        """Warm-up history into the engine (idempotent)."""
        if not self.opened:
            self.market.open(self.engine)
            self.opened = True

    def run(self) -> RunOutcome:
        self.open()
        engine, clock, hooks = self.engine, self.clock, self.hooks
        events = 0
        stopped = ""
        try:
            for event in self.market.closes():
                if event is not None:
                    engine.on_close(event.key, event.index, event.close_ms)
                    events += 1
                    if engine.halted_reason is not None:
                        stopped = HALT
                        break
                    for hook in hooks:
                        stopped = hook.on_close(event.close_ms) or stopped
                else:
                    now = clock.now_ms()
                    engine.heartbeat(now)
                    for hook in hooks:
                        stopped = hook.on_heartbeat(now) or stopped
                if stopped:
                    break
        finally:
            self.market.close()
        return RunOutcome(stopped or END_OF_DATA, events, clock.now_ms())
