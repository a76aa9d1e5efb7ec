"""The gate's own signal on real data: is its P(up) a calibrated probability, and where should
the trading threshold sit?

What the shipped ``trading_threshold`` is chosen from (DESIGN section 3.4). For each of the six
symbols in ``../shared/data``, one model per timeframe (5m, 15m resampled from 5m, 1h, 4h, 1d;
the default weights — 1m is left out because the shared 1m files do not cover 2024; a
timeframe without enough history before 2024, such as SOL's 5m, is left out of that symbol's
mix and listed) is trained
on data before 2024-01-01 only, with the shipped settings (one 4h horizon for every timeframe).
Through 2024 (out of sample) every model predicts every candle; at each hourly close the
production ``Aggregator`` mixes the valid forecasts into the gate's signal exactly as the
engine does, and the outcome is the 4h move after that close beyond the fee band.

Reported: per symbol and pooled, the directional reliability of the gate's P(up)/P(down)
(directional ECE, reliability curve, hit rate); for candidate thresholds, how often P(up)
reaches them and how often "up" then happened; the same for a driftless random walk (control):
a threshold it reaches would let the gate trade on noise. -> ``results/bench_confidence.json``.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED_DATA, report
from tradeloop.adapters.market_data.csv_files import read_csv
from tradeloop.adapters.market_data.synthetic import random_walk
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.app import open_store
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.errors import InsufficientDataError
from tradeloop.domain.reliability import reliability
from tradeloop.domain.series import resample
from tradeloop.domain.signals import Aggregator, TimeframeSignal
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ml.features import compute_features
from tradeloop.ml.labels import dead_band
from tradeloop.ml.predictor import load_model
from tradeloop.ml.training_job import train_series
from tradeloop.settings import Settings, load_settings

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT", "ADA/USDT"]
WEIGHTS = {"5m": 0.10, "15m": 0.15, "1h": 0.30, "4h": 0.25, "1d": 0.15}
CUT_MS = 1_704_067_200_000  # 2024-01-01
END_MS = 1_735_689_600_000  # 2025-01-01
HOUR = 3_600_000
RW_MARGIN = 0.03  # a noise market of another volatility or seed may reach a little higher
THRESHOLDS = (0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.80)
CONFIG = ("exchange: {name: binance}\ntimeframes: {intervals: [" +
          ", ".join(f"{{interval: {tf}, weight: {w}}}" for tf, w in WEIGHTS.items()) + "]}\n")


def _series(symbol: str) -> dict[str, CandleArrays]:
    slug = symbol.replace("/", "_")
    out = {}
    for tf in ("5m", "1h", "4h", "1d"):
        path = next(SHARED_DATA.glob(f"binance_{slug}_{tf}.csv*"))
        out[tf] = read_csv(path).candles
    out["15m"] = resample(out["5m"], Timeframe.parse("5m"), Timeframe.parse("15m"))
    return out


def _random_walk_series() -> dict[str, CandleArrays]:
    m5 = Timeframe.parse("5m")
    n = int((END_MS - CUT_MS) / m5.ms) + 4 * 105_120  # four years before the cut, one after
    base = random_walk(n, timeframe="5m", seed=21, vol=0.0025,
                       start_ms=END_MS - n * m5.ms)
    out = {"5m": base}
    for tf in ("15m", "1h", "4h", "1d"):
        out[tf] = resample(base, m5, Timeframe.parse(tf))
    return out


def _gate_signal(settings: Settings, registry: LocalRegistry, symbol: str,
                 series: dict[str, CandleArrays]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(up), P(down), 4h log return after) at every hourly close of the test year."""
    agg = Aggregator(WEIGHTS, settings.trading.stale_after_bars,  # as engine/assembly.py
                     Timeframe.parse(settings.model.horizon).ms)
    forecasts = {}
    for tf in WEIGHTS:
        ref = registry.champion(symbol, tf)
        if ref is None:
            continue
        model = load_model(ref)
        c = series[tf]
        keep = c.open_time >= CUT_MS - 200 * Timeframe.parse(tf).ms
        c = c.take(np.flatnonzero(keep))
        X = ((compute_features(c) - model.mean) / model.std).astype(np.float32)
        ok = np.isfinite(X).all(axis=1)
        probs = np.full((len(c), 3), np.nan)
        probs[ok] = model.calibration.apply(model.logits_batch(X[ok]))
        forecasts[tf] = (c.open_time, probs, ref.version)
    hourly = series["1h"]
    closes = dict(zip(hourly.open_time.tolist(), hourly.close.tolist(), strict=True))
    ups, downs, fwd = [], [], []
    for t in range(CUT_MS + HOUR, END_MS - 4 * HOUR + 1, HOUR):
        for tf, (times, probs, version) in forecasts.items():
            step = Timeframe.parse(tf).ms
            i = int(np.searchsorted(times, t - step, side="right")) - 1  # closed by t
            if i >= 0 and np.isfinite(probs[i]).all():
                agg.update(symbol, TimeframeSignal(tf, step, int(times[i]),
                                                   tuple(probs[i]), version))
        sig = agg.aggregate(symbol, t)
        now, later = closes.get(t - HOUR), closes.get(t + 3 * HOUR)
        if sig is None or now is None or later is None:
            continue
        ups.append(sig.probabilities[2])
        downs.append(sig.probabilities[0])
        fwd.append(math.log(later / now))
    return np.array(ups), np.array(downs), np.array(fwd)


def _thresholds(up: np.ndarray, fwd: np.ndarray, band: float) -> list[dict[str, Any]]:
    rows = []
    for t in THRESHOLDS:
        sel = up >= t
        n = int(sel.sum())
        freq = float((fwd[sel] > band).mean()) if n else float("nan")
        half = 1.96 * math.sqrt(freq * (1 - freq) / n) if n else float("nan")
        rows.append({"threshold": t, "hours_at_or_above": n,
                     "share": round(n / max(len(up), 1), 5),
                     "mean_p_up": round(float(up[sel].mean()), 4) if n else None,
                     "observed_up": round(freq, 4) if n else None,
                     "observed_up_ci95": [round(freq - half, 4), round(freq + half, 4)]
                     if n else None})
    return rows


def _summary(up: np.ndarray, down: np.ndarray, fwd: np.ndarray, band: float) -> dict[str, Any]:
    r = reliability(up, down, fwd, band)
    assert r is not None
    d = r.as_dict()
    d["reliability_curve"] = [[round(f, 4), round(o, 4), n] for f, o, n in r.curve]
    return {**{k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()},
            "p_up_max": round(float(up.max()), 4),
            "p_up_p99": round(float(np.quantile(up, 0.99)), 4)}


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
        band = dead_band(settings.model.fee_bps, settings.model.slippage_bps)
        store = open_store(settings)
        registry = LocalRegistry(work / "models")
        per_symbol: dict[str, Any] = {}
        pooled: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        control: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        for symbol in [*SYMBOLS, "RW/USDT"]:
            series = _random_walk_series() if symbol == "RW/USDT" else _series(symbol)
            for tf, candles in series.items():
                store.candles.write(SeriesKey("binance", symbol, tf), candles,
                                    refresh_gaps=False)
            missing = []
            for tf in WEIGHTS:
                try:
                    train_series(settings, store.candles, registry, symbol, tf,
                                 until_ms=CUT_MS)
                except InsufficientDataError:  # e.g. no SOL 5m candles before 2024
                    missing.append(tf)
            up, down, fwd = _gate_signal(settings, registry, symbol, series)
            per_symbol[symbol] = {**_summary(up, down, fwd, band),
                                  "timeframes": [t for t in WEIGHTS if t not in missing]}
            print(symbol, per_symbol[symbol], flush=True)
            if symbol == "RW/USDT":
                control = (up, down, fwd)
            else:
                pooled.append((up, down, fwd))
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    up, down, fwd = (np.concatenate([p[k] for p in pooled]) for k in range(3))
    assert control is not None
    real, noise = _thresholds(up, fwd, band), _thresholds(control[0], control[2], band)
    # the lowest candidate at least RW_MARGIN above anything the random walk reached, where
    # "up" then happened at least as often as the threshold says (within the 95 % interval)
    rw_max = float(control[0].max())
    chosen = next((r["threshold"] for r in real
                   if r["threshold"] >= rw_max + RW_MARGIN and r["hours_at_or_above"]
                   and r["observed_up_ci95"][1] >= r["threshold"]), None)
    report("bench_confidence", {
        "signal": "the gate's P(up): default-weight mix of 5m/15m/1h/4h/1d models, one 4h "
                  "horizon, at every hourly close",
        "out_of_sample": "2024-01-01..2025-01-01, models trained on data before 2024",
        "fee_band": round(band, 5), "hours": len(up),
        "pooled": _summary(up, down, fwd, band), "thresholds": real,
        "per_symbol": per_symbol, "random_walk_control": {
            **per_symbol["RW/USDT"], "thresholds": noise},
        "chosen_threshold": chosen,
        "rule": f"lowest candidate at least {RW_MARGIN} above the random walk's maximum "
                "P(up) whose observed up frequency on real data reaches it within its 95 % "
                "interval"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
