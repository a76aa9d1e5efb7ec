"""Live calibration from recorded forecasts whose outcome is known: scored, shown, alerted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.market_data.synthetic import random_walk
from tradeloop.adapters.store.calibration_queries import CalibrationSpec, live_calibration
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.adapters.store.deployment_metrics import CalibrationWatch, HealthRecords
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.deployment_metrics import DeploymentMetrics
from tradeloop.domain.health import HealthThresholds, assess
from tradeloop.domain.timestamps import ts
from tradeloop.settings import load_settings

MIN = 60_000
H4 = 240 * MIN
CONFIG = """
exchange: {name: synthetic}
symbols: [AAA/USDT, BBB/USDT]
timeframes: {intervals: [{interval: 1m, weight: 0.5}, {interval: 1h, weight: 0.5}]}
"""


@pytest.mark.parametrize("said_up", [None, 0.9])
def test_gates_and_models_are_scored_and_a_miscalibrated_gate_fails_its_check(
        tmp_path: Path, sqlite_store: CandleStore, said_up: float | None) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG)
    settings = load_settings(tmp_path / "config.yaml", env={})
    spec = CalibrationSpec.of(settings)
    candles = random_walk(3 * 1440, timeframe="1m", seed=4, vol=0.001)
    key = SeriesKey("synthetic", "AAA/USDT", "1m")
    sqlite_store.write(key, candles)
    store = TradingStore(sqlite_store.engine, "paper", deployment_id=7)
    t0 = int(candles.open_time[0])
    closes = candles.open_time + MIN
    fwd = np.full(len(candles), np.nan)
    fwd[:-240] = np.log(candles.close[240:] / candles.close[:-240])
    observed_up = float(np.mean(fwd[:-240] > spec.band))
    p_up = observed_up if said_up is None else said_up  # honest base rate, or overconfident
    for i in range(100, len(candles) - 10):
        store.confidence(int(closes[i]), "AAA/USDT", p_up, "up", "LEARNING", 0.5)
        store.prediction(int(closes[i]), "AAA/USDT", "1m", int(candles.open_time[i]), "up",
                         (1 - p_up - 0.05, 0.05, p_up), p_up, "1", "LEARNING")
    store.flush()
    since, now = ts(t0), ts(int(closes[-1]))

    cal = live_calibration(sqlite_store.engine, spec, ["AAA/USDT", "BBB/USDT"], since, now, 7)
    gate = cal.gates["AAA/USDT"]
    known = len(candles) - 10 - 100 - 230  # forecasts whose 4h outcome is stored
    assert abs(gate.samples - known) <= 1 and "BBB/USDT" not in cal.gates
    assert cal.models[("AAA/USDT", "1m")].samples == gate.samples
    assert gate.observed_up == pytest.approx(observed_up, abs=0.03)
    if said_up is None:
        assert gate.ece < 0.05  # saying the base rate is calibrated (if useless)
    else:
        assert gate.ece > 0.3

    watch = CalibrationWatch(spec, ["AAA/USDT", "BBB/USDT"], window_hours=72, min_samples=200)
    counts = HealthRecords(sqlite_store.engine, watch).counts(
        7, t0, int(closes[-1]) - 3_600_000, int(closes[-1]))
    assert counts.calibration is not None and counts.calibration[0] == "AAA/USDT"
    metrics = DeploymentMetrics(1.0, 0, 0, 0.0, 10_000, 10_000, 0.0, 0, 100,
                                calibration_gap=counts.calibration[1],
                                calibration_samples=counts.calibration[2],
                                calibration_of=counts.calibration[0])
    check = next(c for c in assess(metrics, HealthThresholds()).checks
                 if c.name == "calibration")
    assert check.passed is (said_up is None)
    assert "AAA/USDT's gate" in check.line()
    # a window shorter than the horizon knows no outcome yet: nothing is judged
    early = live_calibration(sqlite_store.engine, spec, ["AAA/USDT"], now - timedelta(hours=2),
                             now, 7)
    assert early.worst_gate(200) is None
