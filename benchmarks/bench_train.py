"""Model benchmark -> benchmarks/results/bench_train.json.

- train_seconds_per_model: one MLP on 5,000 samples for the full 50 epochs (early stopping
  off: the worst case), 1 thread; train_seconds_early_stopping: the same with the default
  patience; lightning_import_seconds is paid once per training process and not included.
- inference_p50_ms / inference_p99_ms: Predictor.predict for the newest candle (features from
  the last candles + forward pass + calibration), 2,000 calls after warm-up.
- rss_mb_24_models: resident memory of a fresh serving process (plain torch, no Lightning or
  MLflow) holding 24 loaded models (4 symbols x 6 timeframes) after one prediction each.
Goals (issue 3): training <= 15 s per model, inference p99 <= 2 ms, RSS <= 350 MB.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_train.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from benchmarks.common import report
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.adapters.store import database
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.domain.candles import SeriesKey
from tradeloop.settings import load_settings

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT")
TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")

SERVE = r"""
import json, sys, torch
from pathlib import Path
torch.set_num_threads(1)
from tradeloop.adapters.registry.champion_files import ChampionFiles
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.ml.predictor import ChampionPredictor
models, symbols, tfs = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3].split(",")
candles, _ = synth_market(10, timeframe="1h", seed=1)
p = ChampionPredictor(ChampionFiles(models))
ok = sum(p.predict(s, t, candles) is not None for s in symbols for t in tfs)
rss = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
heavy = [m for m in sys.modules if m.split(".")[0] in ("lightning", "mlflow")]
print(json.dumps({"served": ok, "rss_kb": rss, "heavy_modules": heavy}))
"""


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench_train_"))
    try:
        start = time.perf_counter()
        from tradeloop.ml.training_job import train_series  # Lightning import

        import_s = time.perf_counter() - start
        (work / "config.yaml").write_text(
            "exchange: {name: synthetic}\n"
            "model: {max_train_candles: 5120, min_samples: 1000}\n")
        candles, _ = synth_market(5120 / 24, timeframe="1h", seed=3)
        engine = database.make_engine(f"sqlite:///{work / 'trading.db'}")
        database.upgrade(engine)
        store = CandleStore(engine)
        store.write(SeriesKey("synthetic", "BTC/USDT", "1h"), candles)

        def timed(retraining: str) -> tuple[float, int, int]:
            text = (work / "config.yaml").read_text().split("continuous_learning")[0]
            (work / "config.yaml").write_text(text + retraining)
            settings = load_settings(work / "config.yaml", env={})
            recorder = LocalRegistry(work / "models")
            t0 = time.perf_counter()
            res = train_series(settings, store, recorder, "BTC/USDT", "1h")
            o = res.outcome
            return time.perf_counter() - t0, len(o.history), o.n_train + o.n_val + o.n_test

        full_s, full_epochs, n_samples = timed(
            "continuous_learning: {retraining: {max_epochs: 50, patience: 50, "
            "target_confidence: 1.0}}\n")
        early_s, early_epochs, _ = timed("continuous_learning: {retraining: {max_epochs: 50}}\n")

        from tradeloop.adapters.registry.champion_files import ChampionFiles
        from tradeloop.ml.predictor import ChampionPredictor

        files = ChampionFiles(work / "models")
        ref = files.champion("BTC/USDT", "1h")
        assert ref is not None
        predictor = ChampionPredictor(files)
        live, _ = synth_market(10, timeframe="1h", seed=8)
        for _ in range(50):
            predictor.predict("BTC/USDT", "1h", live)
        lat = []
        for i in range(2000):
            window = live.take(slice(0, 120 + i % 100))
            t0 = time.perf_counter()
            assert predictor.predict("BTC/USDT", "1h", window) is not None
            lat.append((time.perf_counter() - t0) * 1000)

        serve_dir = work / "serve"
        for symbol in SYMBOLS:
            for tf in TIMEFRAMES:
                target = ChampionFiles(serve_dir)
                folder = target.folder(symbol, tf)
                folder.mkdir(parents=True)
                shutil.copy2(ref.path, folder / "v1.pt")
                target.set(symbol, tf, "1", "v1.pt", None)
        proc = subprocess.run([sys.executable, "-c", SERVE, str(serve_dir), ",".join(SYMBOLS),
                               ",".join(TIMEFRAMES)], capture_output=True, text=True, check=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        served = json.loads(proc.stdout.strip().splitlines()[-1])
        assert served["served"] == 24 and not served["heavy_modules"], served
        engine.dispose()
        result = {
            "samples": n_samples,
            "train_seconds_per_model": round(full_s, 2),
            "train_epochs": full_epochs,
            "train_seconds_early_stopping": round(early_s, 2),
            "train_epochs_early_stopping": early_epochs,
            "lightning_import_seconds": round(import_s, 2),
            "inference_p50_ms": round(float(np.percentile(lat, 50)), 3),
            "inference_p99_ms": round(float(np.percentile(lat, 99)), 3),
            "rss_mb_24_models": round(served["rss_kb"] / 1024, 1),
            "goals": {"train_seconds_per_model": "<= 15", "inference_p99_ms": "<= 2",
                      "rss_mb_24_models": "<= 350"},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("bench_train", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
