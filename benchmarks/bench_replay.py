"""Full-pipeline replay benchmark -> benchmarks/results/bench_replay.json.

Candle-close events per second through the whole engine (features, inference, aggregation,
gate, risk, fills, database writes) over 30 days of 1m candles on 1 symbol x 6 timeframes and
4 symbols x 6 timeframes, with retraining off and on (loss-triggered, 72 h cooldown); the
replay loop alone is timed (the initial walk-forward training before the start is not).
Decision latency = one candle close handled, up to the order submitted (p50/p99, 4 x 6); peak
RSS of the process. Goals (issue 4): >= 5,000 events/s with retraining off; p99 <= 20 ms for
4 x 6; RSS <= 400 MB. Synthetic market (seeded): the figures measure speed, not skill.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_replay.py
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks.common import report
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.app import open_store
from tradeloop.backtest import run_backtest
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.series import resample
from tradeloop.domain.timeframes import Timeframe
from tradeloop.settings import load_settings

SYMBOLS = ["AAA/USDT", "BBB/USDT", "CCC/USDT", "DDD/USDT"]
TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
HISTORY_DAYS, REPLAY_DAYS = 200, 30
DAY = 86_400_000
CONFIG = """
exchange: {name: synthetic}
continuous_learning:
  confidence: {trading_threshold: 0.55, hysteresis: 0.03, min_dwell_minutes: 0}
  retraining: {max_epochs: 5, patience: 2, min_interval_hours: 72}
model: {min_samples: 100, max_train_candles: 5000}
"""


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench_replay_"))
    try:
        (work / "config.yaml").write_text(CONFIG)
        settings = load_settings(work / "config.yaml", env={})
        store = open_store(settings)
        m1 = Timeframe.parse("1m")
        for n, symbol in enumerate(SYMBOLS):
            candles, _ = synth_market(HISTORY_DAYS, seed=100 + n)
            for tf in TIMEFRAMES:
                series = candles if tf == "1m" else resample(candles, m1, Timeframe.parse(tf))
                store.candles.write(SeriesKey("synthetic", symbol, tf), series)
        end = int(candles.open_time[-1]) + 60_000
        start = end - REPLAY_DAYS * DAY
        out: dict[str, float] = {}
        for label, symbols, retrain in (("1x6", SYMBOLS[:1], False), ("4x6", SYMBOLS, False),
                                        ("4x6_retrain", SYMBOLS, True)):
            res = run_backtest(settings, store, symbols, start, end, retraining=retrain,
                               folder=work / label)
            out[f"events_per_s_{label}"] = round(res.events / res.replay_seconds)
            out[f"events_{label}"] = res.events
            if label == "4x6":
                p50, p99 = res.engine.decision_percentiles()
                out["decision_p50_ms"] = round(p50, 3)
                out["decision_p99_ms"] = round(p99, 3)
            if retrain:
                out["retrains_4x6_retrain"] = res.learning.stats()["retrains"]
            print(label, res.events, "events in", round(res.replay_seconds, 1), "s", flush=True)
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("bench_replay", {**out, "replay_days": REPLAY_DAYS, "goals": {
        "events_per_s_4x6": ">= 5000", "decision_p99_ms": "<= 20", "peak_rss_mb": "<= 400"}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
