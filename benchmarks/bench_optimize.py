"""Optimisation speed: 200 trials of a rule strategy on a year of real 1h candles.

``tradeloop optimize``'s study runner (optuna NSGA-II, each trial one in-memory backtest of
the whole year through the engine, walk-forward folds, deflated Sharpe and PBO at the end)
on BTC/USDT 1h from ``../shared/data`` (the last 365 days), with 1 and with 2 worker
processes: ``wall_seconds``, ``trials_per_s``, ``bars_per_s`` (candles replayed per second,
all trials together). Goal (issue 16): 200 trials in <= 60 s on the 2-core machine.
-> ``results/bench_optimize.json``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED_DATA, report

TRIALS = 200
CONFIG = """
exchange: {name: binance}
symbols: [BTC/USDT]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
"""


def main() -> int:
    from tradeloop.adapters.market_data.csv_files import read_csv
    from tradeloop.app import open_store
    from tradeloop.app.optimisation import StudySpec, run_study
    from tradeloop.domain.candles import SeriesKey
    from tradeloop.settings import load_settings

    candles = read_csv(SHARED_DATA / "binance_BTC_USDT_1h.csv").candles
    year = 365 * 24
    candles = candles.take(slice(len(candles) - year - 200, None))  # + warm-up
    start, end = int(candles.open_time[200]), int(candles.open_time[-1]) + 3_600_000
    out: dict[str, Any] = {"strategy": "ma_cross", "trials": TRIALS, "bars": year,
                           "sampler": "nsga2", "symbol": "BTC/USDT", "timeframe": "1h"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config.yaml").write_text(CONFIG)
        settings = load_settings(root / "config.yaml", env={})
        store = open_store(settings)
        store.candles.write(SeriesKey("binance", "BTC/USDT", "1h"), candles)
        store.close()
        for jobs in (1, 2):
            spec = StudySpec("ma_cross", "BTC/USDT", "1h", start, end, min_trades=10)
            t = time.perf_counter()
            rep = run_study(settings, spec, TRIALS, jobs=jobs, name=f"bench-{jobs}")
            wall = time.perf_counter() - t
            out[f"jobs_{jobs}"] = {
                "wall_seconds": wall, "trials_per_s": TRIALS / wall,
                "bars_per_s": TRIALS * year / wall, "completed": rep.completed,
                "pruned": rep.pruned, "failed": rep.failed, "best_sharpe": rep.best_value,
                "deflated_sharpe_probability": rep.deflated.probability if rep.deflated
                else None,
                "pbo": rep.overfitting.pbo if rep.overfitting else None}
            print(f"jobs {jobs}: {wall:.1f} s", flush=True)
    out["goal_200_trials_within_60_s"] = min(out["jobs_1"]["wall_seconds"],
                                             out["jobs_2"]["wall_seconds"]) <= 60
    report("bench_optimize", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
