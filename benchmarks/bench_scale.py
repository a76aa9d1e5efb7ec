"""Past one machine: one retraining cycle of every (symbol, timeframe) model through the
process pool and through a local Ray, and the model staleness it implies at scale.

``symbols`` x 6 timeframes (1m, 5m, 15m, 1h, 4h, 1d) of seeded synthetic candles (each series
its own market, enough for a 3,000-candle training window), one retrain job per series
(the production job: ``app/retrain_jobs.run_job``, its own store and a local registry),
2 workers each way. Figures: ``jobs``, ``wall_seconds_process``, ``wall_seconds_ray``, and
``max_model_age_hours`` reached (a cycle refreshes each model once, so the last one waited
the whole cycle). From the measured per-job times (per timeframe, with each executor's
per-job overhead), a list-scheduling simulation projects the staleness of 50 pairs x 6
timeframes on 1, 4 and 16 workers (``projected_max_age_minutes``): the longest a model waits
for its refresh when the scheduler refreshes them oldest first, back to back.

``python benchmarks/bench_scale.py [--quick] [--symbols 40]`` -> ``results/bench_scale.json``.
"""

from __future__ import annotations

import argparse
import heapq
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import report
from tradeloop.adapters.executors.process_pool import ProcessRunner
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.app import open_store
from tradeloop.app.retrain_jobs import run_job
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.retraining import RetrainJob, RetrainResult
from tradeloop.domain.timeframes import Timeframe
from tradeloop.settings import load_settings

TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
CANDLES = 3_400  # per series: a 3,000-candle window, the features' lookback and the horizon
CONFIG = """
exchange: {{name: synthetic}}
symbols: [{symbols}]
timeframes: {{intervals: [{intervals}]}}
continuous_learning: {{retraining: {{max_epochs: 10, patience: 3}}}}
model: {{min_samples: 300, max_train_candles: 3000}}
"""


def project(root: Path, symbols: list[str]) -> Any:
    intervals = ", ".join(f"{{interval: {tf}, weight: 1.0}}" for tf in TIMEFRAMES)
    (root / "config.yaml").write_text(CONFIG.format(symbols=", ".join(symbols),
                                                    intervals=intervals))
    settings = load_settings(root / "config.yaml", env={})
    store = open_store(settings)
    end = 1_730_419_200_000  # 2024-11-01
    for n, symbol in enumerate(symbols):
        for k, tf in enumerate(TIMEFRAMES):
            step = Timeframe.parse(tf).ms
            candles, _ = synth_market(CANDLES * step / 86_400_000, timeframe=tf,
                                      seed=100 * n + k, start_ms=end - CANDLES * step)
            store.candles.write(SeriesKey("synthetic", symbol, tf), candles)
    store.close()
    return settings


def cycle(runner: ProcessRunner, jobs: list[RetrainJob]) -> tuple[float, list[RetrainResult]]:
    started = time.perf_counter()
    for job in jobs:
        runner.submit(job)
    done: list[RetrainResult] = []
    while len(done) < len(jobs):
        done += [res for _, res in runner.poll()]
        time.sleep(0.05)
    return time.perf_counter() - started, done


def makespan(durations: list[float], workers: int) -> float:
    """Longest-first list scheduling on ``workers``: when the last job ends."""
    ends = [0.0] * workers
    heapq.heapify(ends)
    for d in sorted(durations, reverse=True):
        heapq.heappush(ends, heapq.heappop(ends) + d)
    return max(ends)


def run(symbols: int) -> dict[str, Any]:
    names = [f"S{i:02d}/USDT" for i in range(symbols)]
    out: dict[str, Any] = {"symbols": symbols, "timeframes": list(TIMEFRAMES), "workers": 2}
    per_job: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = project(Path(tmp), names)
        end = 1_730_419_200_000
        for kind in ("process", "ray"):
            jobs = [RetrainJob(s, tf, "model_age", end) for s in names for tf in TIMEFRAMES]
            root = Path(tmp) / kind
            if kind == "ray":
                from tradeloop.adapters.executors.ray_pool import RayRunner

                runner: ProcessRunner = RayRunner(run_job, (settings, str(root)), wait=False,
                                                  workers=2)
            else:
                runner = ProcessRunner(run_job, (settings, str(root)), wait=False, workers=2)
            try:
                wall, results = cycle(runner, jobs)
            finally:
                runner.close()
            failed = [r.error for r in results if r.error]
            train = {tf: [r.seconds for r in results if r.timeframe == tf] for tf in TIMEFRAMES}
            overhead = max(0.0, wall * 2 / len(jobs) - float(np.mean(
                [r.seconds for r in results])))
            per_job[kind] = {tf: [s + overhead for s in v] for tf, v in train.items()}
            out[f"wall_seconds_{kind}"] = round(wall, 2)
            out[f"failed_{kind}"] = len(failed)
            out[f"trained_{kind}"] = sum(1 for r in results if r.version is not None)
            out[f"mean_train_seconds_{kind}"] = round(float(np.mean(
                [r.seconds for r in results])), 3)
            out[f"overhead_seconds_per_job_{kind}"] = round(overhead, 3)
            print(f"{kind}: {len(jobs)} jobs in {wall:.1f}s ({len(failed)} failed)", flush=True)
        out["jobs"] = len(jobs)
    out["max_model_age_hours"] = {k: round(out[f"wall_seconds_{k}"] / 3600, 4)
                                  for k in ("process", "ray")}
    rng = np.random.default_rng(0)
    projected: dict[str, dict[str, float]] = {}
    for kind, times in per_job.items():
        sample = [float(rng.choice(times[tf])) for _ in range(50) for tf in TIMEFRAMES]
        projected[kind] = {str(w): round(makespan(sample, w) / 60, 2) for w in (1, 4, 16)}
    out["projected_max_age_minutes"] = projected
    out["projected_for"] = "50 pairs x 6 timeframes (300 jobs), oldest first, back to back"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 symbols instead of 40")
    parser.add_argument("--symbols", type=int, default=None)
    args = parser.parse_args(argv)
    report("bench_scale", run(args.symbols or (4 if args.quick else 40)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
