"""Drift detectors: calibrated so unchanged data rarely fires; real changes do."""

import numpy as np

from tradeloop.adapters.market_data.synthetic import random_walk
from tradeloop.ml.drift import FeatureDrift, PageHinkley
from tradeloop.ml.features import compute_features


def test_feature_drift_is_quiet_on_unchanged_data_and_fires_on_a_shift() -> None:
    candles = random_walk(12_000, seed=3, vol=0.01)
    feats = compute_features(candles)
    detector = FeatureDrift(feats[:8000], window=200)
    quiet = [detector.score(feats[i:i + 200]) for i in range(8000, 12_000 - 200, 200)]
    assert max(quiet) < 0.7 and float(np.mean(quiet)) < 0.15  # same process: few features
    shifted = compute_features(random_walk(1200, seed=4, vol=0.04))[-200:]  # 4x volatility
    assert detector.score(shifted) >= 0.25
    assert detector.score(feats[8000:8050]) == 0.0  # too few rows to judge


def test_page_hinkley_false_alarms_are_rare_and_a_rise_is_caught() -> None:
    rng = np.random.default_rng(0)
    ph = PageHinkley()
    alarms = sum(ph.update(float(x)) for x in rng.random(20_000) < 0.5)
    assert alarms == 0
    ph = PageHinkley()
    for x in rng.random(2000) < 0.5:
        ph.update(float(x))
    caught_at = next(i for i, x in enumerate(rng.random(2000) < 0.8) if ph.update(float(x)))
    assert caught_at < 300  # misses jump from 50 % to 80 %: detected within 300 predictions
