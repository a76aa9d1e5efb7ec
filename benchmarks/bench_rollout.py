"""Phase 1 on replay benchmark -> benchmarks/results/bench_rollout.json.

How long a rehearsal of seed 002's phase 1 takes: one symbol on the six default timeframes, a
simulated 24 h (and 7 days) at full speed, with the health checks every 5 simulated minutes,
equity snapshots every simulated minute and the end-of-phase validation. The walk-forward
training of the phase's models before the window is timed separately. Real BTC/USDT candles
from ../shared/data when present (15m derived from 5m), else a seeded synthetic market.
Goal (issue 5): a 24 h phase in well under a minute per symbol.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_rollout.py
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks.common import SHARED_DATA, report
from tradeloop.adapters.market_data.csv_files import import_file
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.app import open_store
from tradeloop.app import rollout as phases
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.series import resample
from tradeloop.domain.timeframes import Timeframe
from tradeloop.settings import load_settings

TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
CONFIG = "continuous_learning: {retraining: {max_epochs: 20}}\n"


def stock(root: Path) -> str:
    settings = load_settings(root / "config.yaml", env={})
    store = open_store(settings)
    try:
        if (SHARED_DATA / "README.md").exists():
            for tf in ("1m", "5m", "1h", "4h", "1d"):
                suffix = ".csv.gz" if tf in ("1m", "5m") else ".csv"
                import_file(store.candles, SHARED_DATA / f"binance_BTC_USDT_{tf}{suffix}",
                            now_ms=2**62)
            five = store.candles.load(SeriesKey("binance", "BTC/USDT", "5m"))
            store.candles.write(SeriesKey("binance", "BTC/USDT", "15m"),
                                resample(five, Timeframe.parse("5m"), Timeframe.parse("15m")))
            return "binance BTC/USDT (real, ../shared/data)"
        candles, _ = synth_market(1200, timeframe="1m", seed=3)
        base = Timeframe.parse("1m")
        for tf in TIMEFRAMES:
            t = Timeframe.parse(tf)
            store.candles.write(SeriesKey("binance", "BTC/USDT", tf),
                                candles if t == base else resample(candles, base, t))
        return "synthetic market (seeded), labelled binance BTC/USDT in a throw-away store"
    finally:
        store.close()


def run(root: Path, hours: int) -> dict[str, float | int | str]:
    settings = load_settings(root / "config.yaml", env={})
    store = open_store(settings)
    try:
        window = phases.replay_window(settings, store, ["BTC/USDT"], None, None, hours * 3_600_000)
        lines: list[str] = []
        t0 = time.perf_counter()
        outcome = phases.run_phase(settings, store, ["BTC/USDT"], phase=1,
                                   duration_ms=window.end_ms - window.start_ms, replay=window,
                                   say=lines.append)
        total = time.perf_counter() - t0
        training = sum(float(line.split(", ")[-1].rstrip("s)")) for line in lines
                       if "model trained on data before" in line)
        assert outcome.session is not None
        return {"hours": hours, "seconds_total": round(total, 2),
                "seconds_training_walk_forward": round(training, 2),
                "seconds_phase_without_training": round(total - training, 2),
                "candle_closes": outcome.session.engine.stats.events,
                "health_check_rounds": outcome.session.health_runs,
                "trades": outcome.metrics.trades, "verdict": outcome.validation.verdict,
                "criteria_met": outcome.validation.met}
    finally:
        store.close()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config.yaml").write_text(CONFIG)
        data = stock(root)
        day = run(root, 24)
        week = run(root, 24 * 7)
    report("bench_rollout", {
        "data": data, "symbol": "BTC/USDT", "timeframes": list(TIMEFRAMES),
        "phase1_24h": day, "phase1_7d": week,
        "goal": "24 h phase in well under a minute per symbol (replay, simulated clock)",
        "note": "seconds_phase_without_training = replay loop + health checks + snapshots + "
                "validation + report; the verdict is measured, never forced",
    })


if __name__ == "__main__":
    main()
