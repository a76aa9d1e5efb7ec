"""Honesty tests: on a random walk the system finds nothing and says so with calibrated
confidence; on a planted signal it learns; predictions never look ahead."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tradeloop.adapters.market_data.csv_files import read_csv
from tradeloop.adapters.market_data.synthetic import planted_signal, random_walk
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.domain.candles import SeriesKey
from tradeloop.ml.dataset import build_samples, walk_forward
from tradeloop.ml.features import LOOKBACK, compute_features
from tradeloop.ml.predictor import ChampionPredictor, load_model
from tradeloop.ml.training import TrainingLimits, train_classifier
from tradeloop.ml.training_job import train_series
from tradeloop.settings import ModelSettings, load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

NO_FEES = ModelSettings(horizon="1h", fee_bps=0, slippage_bps=0)
LIMITS = TrainingLimits(max_epochs=50, patience=5, target_confidence=0.8)


def test_random_walk_finds_nothing_and_knows_it() -> None:
    samples = build_samples(random_walk(24_000, seed=11), horizon=1, band=0.0)
    folds = walk_forward(len(samples), folds=5, test_size=1200, val_size=3000, gap=1,
                         min_train=2000)
    hits = decisions = n = 0
    correct = conf_sum = 0.0
    probs = []
    for split in folds:
        out = train_classifier(samples, NO_FEES, LIMITS, purge_bars=1, split=split)
        t = out.test
        n += t.samples
        correct += t.accuracy * t.samples
        conf_sum += t.mean_confidence * t.samples
        decisions += t.directional_decisions
        hits += round((t.directional_accuracy or 0.0) * t.directional_decisions)
        probs.append(out.test_probabilities)
    assert n >= 5000 and decisions >= 5000
    directional = hits / decisions
    accuracy, confidence = correct / n, conf_sum / n
    assert abs(directional - 0.5) <= 0.02, directional
    assert abs(confidence - accuracy) <= 0.03, (confidence, accuracy)
    # The gate would never leave LEARNING: no prediction comes near a trading threshold.
    assert np.concatenate(probs).max(axis=1).max() < 0.6


def test_planted_signal_is_learned_and_calibrated() -> None:
    samples = build_samples(planted_signal(8000, lag=3, strength=0.7, seed=5), horizon=1,
                            band=0.0)
    out = train_classifier(samples, NO_FEES, LIMITS, purge_bars=1)
    assert out.test.samples >= 1000
    assert out.test.accuracy >= 0.65, out.test
    assert out.test.miscalibration <= 0.03, out.test
    assert out.test.accuracy > out.test.majority_baseline + 0.15


def test_a_target_stop_keeps_the_epoch_that_reached_the_target() -> None:
    samples = build_samples(planted_signal(6000, lag=3, strength=0.7, seed=6), horizon=1,
                            band=0.0)
    out = train_classifier(samples, NO_FEES, TrainingLimits(50, 5, target_confidence=0.6),
                           purge_bars=1)
    assert out.stop_reason == "target_confidence"
    assert out.best_epoch == len(out.history)  # the restored weights are the ones that hit it
    assert out.history[-1]["val_confidence"] >= 0.6
    assert out.val.mean_confidence >= 0.55  # cross-fitted: close to, not exactly, the target


def test_predictions_on_real_data_do_not_look_ahead(shared_data: Path, sqlite_store: CandleStore,
                                                    tmp_path: Path) -> None:
    candles = read_csv(shared_data / "binance_BTC_USDT_1h.csv").candles
    candles = candles.take(slice(len(candles) - 4000, None))
    key = SeriesKey("binance", "BTC/USDT", "1h")
    sqlite_store.write(key, candles)
    (tmp_path / "config.yaml").write_text(
        "continuous_learning: {retraining: {max_epochs: 3}}\n"
        "model: {min_samples: 500, max_train_candles: 3000}\n")
    settings = load_settings(tmp_path / "config.yaml", env={})
    recorder = LocalRegistry(tmp_path / "models")
    cut = 3000  # train on the first 3000 candles only
    train_series(settings, sqlite_store, recorder, "BTC/USDT", "1h",
                 until_ms=int(candles.open_time[cut]))
    predictor = ChampionPredictor(recorder)
    model = load_model(recorder.champion("BTC/USDT", "1h"))  # type: ignore[arg-type]
    feats = ((compute_features(candles) - model.mean) / model.std).astype(np.float32)
    rng = np.random.default_rng(1)
    for t in sorted(rng.integers(cut, len(candles), size=40)):
        # reference: the serving computation on the full history's feature row t
        reference = model.calibration.apply_row(model.logits(feats[t]))
        p = predictor.predict("BTC/USDT", "1h", candles.take(slice(0, t + 1)))
        assert p is not None and p.candle_time == candles.open_time[t]
        assert p.probabilities == reference
        # The live path needs only the last LOOKBACK candles.
        q = predictor.predict("BTC/USDT", "1h", candles.take(slice(t + 1 - LOOKBACK, t + 1)))
        assert q == p


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_a_dominant_class_alone_does_not_count_as_reaching_the_target() -> None:
    """Where 'flat' dominates, the prior alone is confident: that is not learning."""
    candles = random_walk(6000, seed=4, vol=0.002)
    samples = build_samples(candles, horizon=1, band=0.004)  # ~95 % flat
    assert (samples.y == 1).mean() > 0.9
    out = train_classifier(samples, NO_FEES, TrainingLimits(50, 5, target_confidence=0.8),
                           purge_bars=1)
    assert out.stop_reason != "target_confidence"
    assert out.test.mean_confidence > 0.8  # confident, yet no better than the majority class
    assert out.test.accuracy <= out.test.majority_baseline + 0.01


RW_CONFIG = """
exchange: {name: synthetic}
symbols: [RW/USDT]
timeframes: {intervals: [{interval: 1h, weight: 0.6}, {interval: 4h, weight: 0.4}]}
continuous_learning:
  retraining: {max_epochs: 20, patience: 3, on_loss: true, min_interval_hours: 24}
model: {min_samples: 500, max_train_candles: 6000}
"""


def test_a_random_walk_through_the_whole_gate_never_trades(tmp_path: Path) -> None:
    """The aggregator and the gate, not a single model: 1h and 4h models (shipped 4h
    horizon, shipped threshold) trained walk-forward on a random walk and replayed over two
    months: the gate's P(up) never reaches the threshold, so nothing is traded."""
    from tradeloop.adapters.market_data.synthetic import random_walk as walk
    from tradeloop.app import open_store
    from tradeloop.app.backtests import run_backtest
    from tradeloop.domain.series import resample
    from tradeloop.domain.timeframes import Timeframe

    (tmp_path / "config.yaml").write_text(RW_CONFIG)
    settings = load_settings(tmp_path / "config.yaml", env={})
    store = open_store(settings)
    hourly = walk(9000, seed=17, vol=0.006)
    four = resample(hourly, Timeframe.parse("1h"), Timeframe.parse("4h"))
    store.candles.write(SeriesKey("synthetic", "RW/USDT", "1h"), hourly)
    store.candles.write(SeriesKey("synthetic", "RW/USDT", "4h"), four)
    start = int(hourly.open_time[9000 - 24 * 60])
    res = run_backtest(settings, store, ["RW/USDT"], start,
                       int(hourly.open_time[-1]) + 3_600_000, folder=tmp_path / "out")
    from sqlalchemy import text

    with store.engine.connect() as conn:
        top = conn.execute(text("SELECT MAX(confidence_score), COUNT(*) FROM "
                                "confidence_history")).one()
        trading = conn.execute(text("SELECT COUNT(*) FROM learning_states "
                                    "WHERE mode = 'TRADING'")).scalar()
    assert top[1] >= 24 * 60  # the gate was asked at every candle close
    assert top[0] < settings.continuous_learning.confidence.trading_threshold, top
    assert trading == 0 and res.performance.trades == 0
    store.close()
