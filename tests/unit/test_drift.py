"""Drift detectors at the shipped settings: unchanged data practically never fires, a real
regime change does, within a bounded number of candles; triggers are stamped at the close."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes import MemoryStore
from tradeloop.adapters.market_data.synthetic import random_walk
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.gate import Gate
from tradeloop.domain.retraining import RetrainJob, RetrainResult
from tradeloop.domain.signals import Prediction
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.learning import LearningController
from tradeloop.ml.drift import WINDOW, FeatureDrift, PageHinkley
from tradeloop.ml.features import compute_features
from tradeloop.settings.schema import RetrainingSettings

SHIPPED = RetrainingSettings()
KEY = SeriesKey("synthetic", "SYN/USDT", "1h")
HOUR = 3_600_000


def _stitched(first: CandleArrays, second: CandleArrays) -> CandleArrays:
    """``second``'s moves continued from ``first``'s last close, on the next open times."""
    scale = first.close[-1] / second.open[0]
    step = int(first.open_time[1] - first.open_time[0])
    times = first.open_time[-1] + step * (1 + np.arange(len(second), dtype=np.int64))
    return CandleArrays(
        np.concatenate([first.open_time, times]),
        *(np.concatenate([getattr(first, f), getattr(second, f) * scale])
          for f in ("open", "high", "low", "close")),
        np.concatenate([first.volume, second.volume]))


def _fires(detector: FeatureDrift, feats: np.ndarray, start: int) -> list[int]:
    """Indexes of the checks (one every WINDOW rows from ``start``) at which the shipped rule
    (threshold, consecutive confirmations) fires."""
    fired, over = [], 0
    for k, i in enumerate(range(start, len(feats) - WINDOW + 1, WINDOW)):
        over = over + 1 if detector.score(feats[i:i + WINDOW]) >= SHIPPED.drift_threshold else 0
        if over >= SHIPPED.drift_confirmations:
            fired.append(k)
            over = 0
    return fired


@pytest.mark.timeout(120)
def test_unchanged_data_fires_at_most_once_in_ten_thousand_checks() -> None:
    detector = FeatureDrift.fit(compute_features(random_walk(14_000, seed=1)))
    same = compute_features(random_walk(10_001 * WINDOW + 100, seed=2))
    assert len(_fires(detector, same, 100)) <= 1


def test_a_doubling_of_volatility_fires_within_three_checks() -> None:
    detector = FeatureDrift.fit(compute_features(random_walk(14_000, seed=1)))
    calm = random_walk(3000, seed=3, vol=0.01)
    wild = random_walk(3000, seed=4, vol=0.02)
    feats = compute_features(_stitched(calm, wild))
    fired = _fires(detector, feats, 100)
    change_check = (3000 - 100) // WINDOW  # the first check whose window reaches the change
    assert fired and change_check <= fired[0] <= change_check + 3, fired
    assert detector.score(feats[200:250]) == 0.0  # too few rows to judge


def test_calendar_features_never_count_as_drift() -> None:
    ref = compute_features(random_walk(14_000, seed=1, timeframe="1m"))
    detector = FeatureDrift.fit(ref)
    # three hours of one afternoon against two weeks: hour and weekday are concentrated
    assert detector.score(compute_features(random_walk(300, seed=5, timeframe="1m"))[-200:]
                          ) < SHIPPED.drift_threshold


def test_the_reference_round_trips_through_its_saved_form() -> None:
    feats = compute_features(random_walk(5000, seed=6))
    detector = FeatureDrift.fit(feats[:4000])
    again = FeatureDrift.from_dict(detector.to_dict())
    assert again.score(feats[-200:]) == detector.score(feats[-200:])
    with pytest.raises(ValueError, match="too short"):
        FeatureDrift.fit(feats[:500])


class _Jobs:
    def __init__(self) -> None:
        self.jobs: list[RetrainJob] = []

    def submit(self, job: RetrainJob) -> None:
        self.jobs.append(job)

    def poll(self) -> list[tuple[RetrainJob, RetrainResult]]:
        return []

    def run(self, job: RetrainJob) -> RetrainResult:
        raise AssertionError("not used")

    def close(self, *, wait: bool = True) -> None:
        return None


def test_the_controller_checks_the_champions_reference_and_stamps_the_close() -> None:
    calm_train = random_walk(14_000, seed=1)
    detector = FeatureDrift.fit(compute_features(calm_train))  # "the champion's training"
    candles = _stitched(random_walk(1000, seed=3), random_walk(2000, seed=4, vol=0.02))
    book = CandleBook()
    book.preload(KEY, candles)
    runner, store = _Jobs(), MemoryStore()
    learning = LearningController(
        symbols=[KEY.symbol], timeframes=["1h"], weights={"1h": 1.0}, exchange=KEY.exchange,
        on_loss=False, min_interval_ms=HOUR, schedule_ms=None,
        drift_threshold=SHIPPED.drift_threshold,
        drift_confirmations=SHIPPED.drift_confirmations, horizons={"1h": 4},
        gate=Gate(0.5, 0.03, 0), store=store, book=book, runner=runner,
        references=lambda symbol, timeframe: detector, on_transition=lambda t: None)
    for i in range(len(candles)):
        t = int(candles.open_time[i])
        learning.on_prediction(KEY, i, Prediction(KEY.symbol, "1h", t, "flat",
                                                  (0.3, 0.4, 0.3), 0.4, "1"))
    assert [j.reason for j in runner.jobs] == ["drift"]
    job = runner.jobs[0]
    first_wild = int(candles.open_time[1000])
    assert first_wild < job.triggered_ms <= first_wild + 4 * WINDOW * HOUR
    assert (job.triggered_ms - int(candles.open_time[0])) % HOUR == 0  # a candle's close
    assert job.triggered_ms in {int(t) + HOUR for t in candles.open_time}


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
