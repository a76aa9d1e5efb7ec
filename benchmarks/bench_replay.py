"""Full-pipeline replay benchmark -> benchmarks/results/bench_replay.json.

Candle-close events per second through the whole engine (features, inference, aggregation,
gate, risk, fills, database writes) over 30 days of 1m candles on 1 symbol x 6 timeframes and
4 symbols x 6 timeframes, with retraining off and on (loss-triggered, 72 h cooldown); the
replay loop alone is timed (the initial walk-forward training before the start is not).
Decision latency = one candle close handled, up to the order submitted (p50/p99, 4 x 6); peak
RSS of the engine process (each variant runs in a fresh process; retraining runs in its own
worker process, as in production). Goals (issue 4): >= 5,000 events/s with retraining off;
p99 <= 20 ms for 4 x 6; RSS <= 400 MB. Synthetic market (seeded): the figures measure
speed, not skill.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_replay.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks.common import report, rss_mb, write_synthetic
from tradeloop.app import open_store
from tradeloop.app.backtests import run_backtest
from tradeloop.domain.candles import SeriesKey
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


def measure(work: Path, label: str) -> dict[str, float]:
    """One variant in this (fresh) process; prints its figures as JSON."""
    settings = load_settings(work / "config.yaml", env={})
    store = open_store(settings)
    end = int(store.candles.last_open_time(SeriesKey("synthetic", SYMBOLS[0], "1m")) or 0)
    end += 60_000
    symbols = SYMBOLS[:1] if label == "1x6" else SYMBOLS
    res = run_backtest(settings, store, symbols, end - REPLAY_DAYS * DAY, end,
                       retraining=label.endswith("retrain"), folder=work / label)
    p50, p99 = res.engine.decision_percentiles()
    out = {"events": res.events, "events_per_s": res.events / res.replay_seconds,
           "decision_p50_ms": p50, "decision_p99_ms": p99,
           "retrains": res.learning.stats()["retrains"],
           "rss_mb": rss_mb("VmHWM")}
    store.close()
    return out


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(measure(Path(sys.argv[2]), sys.argv[3])))
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench_replay_"))
    try:
        (work / "config.yaml").write_text(CONFIG)
        settings = load_settings(work / "config.yaml", env={})
        store = open_store(settings)
        write_synthetic(store.candles, SYMBOLS, TIMEFRAMES, HISTORY_DAYS, seed=100)
        store.close()
        out: dict[str, float] = {}
        rss = []
        for label in ("1x6", "4x6", "4x6_retrain"):
            proc = subprocess.run([sys.executable, __file__, "--measure", str(work), label],
                                  capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(label, r, flush=True)
            out[f"events_per_s_{label}"] = round(r["events_per_s"])
            out[f"events_{label}"] = r["events"]
            if label == "4x6":
                out["decision_p50_ms"] = round(r["decision_p50_ms"], 3)
                out["decision_p99_ms"] = round(r["decision_p99_ms"], 3)
            if label == "4x6_retrain":
                out["retrains_4x6_retrain"] = r["retrains"]
            rss.append(r["rss_mb"])
        out["peak_rss_mb"] = round(max(rss), 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("bench_replay", {**out, "replay_days": REPLAY_DAYS, "goals": {
        "events_per_s_4x6": ">= 5000", "decision_p99_ms": "<= 20", "peak_rss_mb": "<= 400"}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
