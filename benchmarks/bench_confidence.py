"""How confident are the models on real data, and are they right when they are?

Measures what the shipped ``trading_threshold`` is chosen from (DESIGN section 3.4). For each
of the six symbols in ``../shared/data`` at 1h and 4h (default config, horizon 4 bars): a
model is trained on data before 2024-01-01 only, then serves every candle of 2024 out of
sample through the production Predictor. For each prediction the directional confidence
max(p_up, p_down) — what the gate compares with the threshold — and whether that direction
was right over the horizon (close after 4 bars vs close now) are recorded. Output: deciles of
directional confidence with their hit rates -> ``results/bench_confidence.json``.

Control: a driftless random walk (1h, volatility like BTC's) goes through the same training
and serving; a threshold it reaches would let the gate trade on noise.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED_DATA, report
from tradeloop.adapters.market_data.csv_files import import_file
from tradeloop.adapters.market_data.synthetic import random_walk
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.app import open_store
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ml.predictor import ChampionPredictor
from tradeloop.ml.training_job import train_series
from tradeloop.settings import load_settings

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT", "ADA/USDT"]
TIMEFRAMES = ["1h", "4h"]
CUT_MS = 1_704_067_200_000  # 2024-01-01
END_MS = 1_735_689_600_000  # 2025-01-01
CONFIG = "exchange: {name: binance}\n"


def main() -> int:
    if not (SHARED_DATA / "README.md").exists():
        print(f"shared data not found at {SHARED_DATA}", file=sys.stderr)
        return 1
    import torch

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="bench_confidence_"))
    try:
        (work / "config.yaml").write_text(CONFIG)
        settings = load_settings(work / "config.yaml", env={})
        store = open_store(settings)
        registry = LocalRegistry(work / "models")
        predictor = ChampionPredictor(registry)
        horizon = settings.model.horizon_bars
        conf_all, hit_all, per_series = [], [], {}
        rw = random_walk(30_000, seed=21, vol=0.006,
                         start_ms=END_MS - 30_000 * 3_600_000)
        store.candles.write(SeriesKey("binance", "RW/USDT", "1h"), rw)
        for symbol, tf in [*((s, t) for s in SYMBOLS for t in TIMEFRAMES), ("RW/USDT", "1h")]:
            if symbol != "RW/USDT":
                path = SHARED_DATA / f"binance_{symbol.replace('/', '_')}_{tf}.csv"
                import_file(store.candles, path, now_ms=END_MS)
            key = SeriesKey("binance", symbol, tf)
            train_series(settings, store.candles, registry, symbol, tf, until_ms=CUT_MS)
            step = Timeframe.parse(tf).ms
            candles = store.candles.load(key, CUT_MS - 200 * step, END_MS)
            predictor.preload(key, candles)
            first = int(np.searchsorted(candles.open_time, CUT_MS))
            conf, hit = [], []
            for i in range(first, len(candles) - horizon):
                p = predictor.predict(symbol, tf, candles.take(slice(i - 100, i + 1)))
                if p is None:
                    continue
                p_down, _, p_up = p.probabilities
                move = candles.close[i + horizon] - candles.close[i]
                if move == 0:
                    continue
                conf.append(max(p_up, p_down))
                hit.append((p_up >= p_down) == (move > 0))
            c, h = np.array(conf), np.array(hit)
            per_series[f"{symbol} {tf}"] = {
                "n": len(c), "hit_rate": round(float(h.mean()), 4),
                "confidence_p50": round(float(np.median(c)), 4),
                "confidence_p90": round(float(np.quantile(c, 0.9)), 4),
                "confidence_max": round(float(c.max()), 4),
                "hit_rate_top_decile": round(float(h[c >= np.quantile(c, 0.9)].mean()), 4)}
            print(symbol, tf, per_series[f"{symbol} {tf}"], flush=True)
            if symbol != "RW/USDT":
                conf_all.append(c)
                hit_all.append(h)
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    c, h = np.concatenate(conf_all), np.concatenate(hit_all)
    edges = np.quantile(c, np.linspace(0, 1, 11))
    deciles = []
    for k in range(10):
        sel = (c >= edges[k]) & ((c < edges[k + 1]) if k < 9 else (c <= edges[k + 1]))
        deciles.append({"from": round(float(edges[k]), 4), "to": round(float(edges[k + 1]), 4),
                        "n": int(sel.sum()), "hit_rate": round(float(h[sel].mean()), 4)})
    report("bench_confidence", {
        "out_of_sample": "2024-01-01..2025-01-01, models trained on data before 2024",
        "predictions": len(c), "hit_rate": round(float(h.mean()), 4),
        "top_decile_starts_at": round(float(edges[9]), 4),
        "share_at_or_above_0.80": round(float((c >= 0.80).mean()), 6),
        "deciles": deciles, "series": per_series,
        "random_walk_control": per_series["RW/USDT 1h"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
