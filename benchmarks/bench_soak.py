"""Memory soak -> benchmarks/results/bench_soak.json.

A 30-simulated-day replayed deployment of 4 symbols x 6 timeframes (1m .. 1d, seeded
synthetic market) through the one runner with everything a deployment does: health checks
every 5 simulated minutes, equity snapshots every simulated minute, the control channel,
retraining on losses (72 h cooldown) in a worker process. Models are trained walk-forward
before the window. The engine process's resident set (VmRSS) is sampled at every simulated
midnight; ``rss_growth_after_day3_percent`` compares the last sample with day 3's (the warm-up
of caches and buffers is over by then). Goal (issue 14): < 10 %.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_soak.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks.common import report, rss_mb, write_synthetic
from tradeloop.adapters.clock import SimClock
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.app import notifier_for, open_store
from tradeloop.app.feeds import replay_feed
from tradeloop.app.retrain_jobs import retrain_runner
from tradeloop.app.sessions import make_session
from tradeloop.domain.candles import SeriesKey
from tradeloop.engine.walk_forward import train_initial
from tradeloop.settings import load_settings

SYMBOLS = ["AAA/USDT", "BBB/USDT", "CCC/USDT", "DDD/USDT"]
TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
HISTORY_DAYS, SOAK_DAYS = 200, 30
DAY = 86_400_000
CONFIG = f"""
exchange: {{name: synthetic}}
symbols: [{", ".join(SYMBOLS)}]
continuous_learning:
  confidence: {{trading_threshold: 0.40, hysteresis: 0.03, min_dwell_minutes: 0}}
  retraining: {{max_epochs: 3, patience: 1, min_interval_hours: 72, on_loss: true}}
model: {{min_samples: 100, max_train_candles: 3000}}
risk: {{max_drawdown_percent: 90, daily_loss_limit: 1.0}}
deployment: {{snapshot_seconds: 60, health: {{interval_minutes: 5}}}}
"""


class SampledClock(SimClock):
    """The replay's simulated clock, sampling this process's RSS at every midnight."""

    def __init__(self, start_ms: int) -> None:
        super().__init__(start_ms)
        self.day = start_ms // DAY
        self.samples: list[float] = []

    def set(self, now_ms: int) -> None:
        super().set(now_ms)
        if now_ms // DAY != self.day:
            self.day = now_ms // DAY
            self.samples.append(rss_mb())


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench_soak_"))
    try:
        (work / "config.yaml").write_text(CONFIG)
        settings = load_settings(work / "config.yaml", env={})
        store = open_store(settings)
        write_synthetic(store.candles, SYMBOLS, TIMEFRAMES, HISTORY_DAYS, seed=300)
        end = int(store.candles.last_open_time(SeriesKey("synthetic", SYMBOLS[0], "1m")) or 0)
        end = end + 60_000 - (end + 60_000) % DAY
        start = end - SOAK_DAYS * DAY
        models = work / "models"
        runner = retrain_runner(settings, models, wait=True)
        began = time.perf_counter()
        initial = train_initial(runner, TradingStore(store.engine, "replay"),
                                [(s, tf) for s in SYMBOLS for tf in TIMEFRAMES], start)
        trained = sum(1 for r in initial if not r.error)
        training_s = time.perf_counter() - began
        clock = SampledClock(start)
        session = make_session(settings, store, SYMBOLS, mode="replay", clock=clock,
                               feed=replay_feed(store, clock, settings, start, end),
                               runner=runner, registry=LocalRegistry(models),
                               notifier=notifier_for(settings, store.engine, clock), phase=1)
        began = time.perf_counter()
        res = session.run(duration_ms=end - start)
        soak_s = time.perf_counter() - began
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    s = clock.samples
    day3 = s[2] if len(s) > 2 else s[0]
    report("bench_soak", {
        "symbols": len(SYMBOLS), "timeframes": len(TIMEFRAMES), "simulated_days": SOAK_DAYS,
        "models_trained": trained, "events": res.engine.stats.events,
        "orders": res.engine.stats.orders, "trades": res.engine.stats.trades,
        "retrains": res.learning.stats()["retrains"], "health_runs": res.health_runs,
        "status": res.status, "stopped_by": res.stopped_by,
        "rss_mb_per_day": [round(x, 1) for x in s],
        "rss_day3_mb": round(day3, 1), "rss_last_mb": round(s[-1], 1),
        "rss_growth_after_day3_percent": round(100 * (s[-1] / day3 - 1), 2),
        "peak_rss_mb": round(rss_mb("VmHWM"), 1),
        "training_seconds": round(training_s, 1), "soak_seconds": round(soak_s, 1),
        "goal": "rss_growth_after_day3_percent < 10",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
