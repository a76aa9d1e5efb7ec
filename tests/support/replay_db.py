"""A database holding a replayed deployment, for the dashboard's tests and benchmark.

Runs the real Session (replay mode, SimBroker, TradingStore, health checks, learning
controller) over seeded synthetic candles, with a scripted predictor whose confidence drifts
slowly across the gate's threshold (so there are mode changes, signals, refusals and trades)
and a retrain runner that answers at once (so there is retraining history).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from tests.fakes import ScriptedPredictor
from tradeloop.adapters.clock import SimClock
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.app import StoreHandle, notifier_for, open_store
from tradeloop.app.feeds import replay_feed
from tradeloop.app.sessions import make_session
from tradeloop.deploy.session import SessionResult
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.retraining import RetrainJob, RetrainResult
from tradeloop.domain.series import resample
from tradeloop.domain.timeframes import Timeframe
from tradeloop.settings import Settings, load_settings

DAY_MS = 86_400_000
START_MS = 1_704_067_200_000  # 2024-01-01
WARMUP_DAYS = 70  # the session's warm-up history (1,500 hourly bars) comes before the window

CONFIG = """
symbols: [{symbols}]
timeframes: {{intervals: [{{interval: 1h, weight: 0.6}}, {{interval: 4h, weight: 0.4}}]}}
exchange: {{name: synthetic}}
continuous_learning:
  confidence: {{trading_threshold: 0.58, hysteresis: 0.04, min_dwell_minutes: 0}}
  retraining: {{on_loss: true, min_interval_hours: 12}}
risk: {{max_drawdown_percent: 50, daily_loss_limit: 0.5, max_open_positions: 10}}
deployment: {{snapshot_seconds: 60}}
"""


class InstantRunner:
    """Answers each retrain at once: every other challenger is promoted."""

    def __init__(self) -> None:
        self.done: list[tuple[RetrainJob, RetrainResult]] = []
        self.n = 0

    def submit(self, job: RetrainJob) -> None:
        self.n += 1
        promoted = self.n % 2 == 0
        self.done.append((job, RetrainResult(
            job.symbol, job.timeframe, str(self.n + 1), f"run{self.n:04d}", promoted,
            "challenger beat the champion" if promoted else "champion kept",
            validation_confidence=0.55 + 0.01 * (self.n % 5), validation_accuracy=0.52,
            seconds=1.5, compared_samples=150)))

    def poll(self) -> list[tuple[RetrainJob, RetrainResult]]:
        out, self.done = self.done, []
        return out

    def run(self, job: RetrainJob) -> RetrainResult:
        self.submit(job)
        return self.done.pop()[1]

    def close(self, *, wait: bool = True) -> None:
        return None


def scripted(symbol: str, timeframe: str, t: int) -> tuple[float, float, float]:
    """A slowly swinging confidence: about 0.45-0.68, phase-shifted per symbol."""
    phase = sum(map(ord, symbol)) % 7
    hours = t / 3_600_000
    up = 0.5 + 0.17 * math.sin(hours / 4 + phase) + 0.015 * math.sin(hours / 1.3)
    up = min(max(up, 0.05), 0.9)
    down = max(0.05, 0.95 - up - 0.05)
    flat = max(0.0, 1.0 - up - down)
    return (down, flat, up)


@dataclass
class ReplayDb:
    root: Path
    settings: Settings
    result: SessionResult


def stock(root: Path, *, symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT"),
          days: float = 3, extra_config: str = "") -> tuple[Settings, StoreHandle]:
    """``root``/config.yaml and a store with the candles for a replay of ``days``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(CONFIG.format(symbols=", ".join(symbols)) + extra_config)
    settings = load_settings(root / "config.yaml", env={})
    store = open_store(settings)
    for i, s in enumerate(symbols):
        candles, _ = synth_market(WARMUP_DAYS + days + 1, timeframe="1h", seed=11 + i,
                                  start_ms=START_MS, start_price=100.0 * (i + 1))
        store.candles.write(SeriesKey("synthetic", s, "1h"), candles)
        store.candles.write(SeriesKey("synthetic", s, "4h"),
                            resample(candles, Timeframe.parse("1h"), Timeframe.parse("4h")))
    return settings, store


def build(root: Path, *, symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT"), days: float = 3,
          extra_config: str = "") -> ReplayDb:
    """``root``/config.yaml + data/ holding one replayed deployment of ``days``."""
    settings, store = stock(root, symbols=symbols, days=days, extra_config=extra_config)
    try:
        result = replay(settings, store, list(symbols), days)
    finally:
        store.close()
    return ReplayDb(root, settings, result)


def replay(settings: Settings, store: StoreHandle, symbols: list[str], days: float
           ) -> SessionResult:
    start = START_MS + WARMUP_DAYS * DAY_MS
    end = start + int(days * DAY_MS)
    clock = SimClock(start)
    session = make_session(settings, store, symbols, mode="replay", clock=clock,
                      feed=replay_feed(store, clock, settings, start, end),
                      runner=InstantRunner(), notifier=notifier_for(settings, store.engine, clock),
                      predictor=ScriptedPredictor(scripted), phase=1)
    return session.run(duration_ms=end - start)
