"""Features, labels, splits and scaler: the no-lookahead rules."""

from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.market_data.csv_files import read_csv
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.ml.dataset import (
    Scaler,
    build_samples,
    chronological_split,
    sequences,
    walk_forward,
)
from tradeloop.ml.features import FEATURE_NAMES, LOOKBACK, compute_features, latest_features
from tradeloop.ml.labels import (
    DOWN,
    FLAT,
    UNKNOWN,
    UP,
    aux_horizons,
    dead_band,
    make_labels,
)


def test_incremental_path_is_identical_to_the_vectorised_one() -> None:
    candles, _ = synth_market(5, seed=4)
    full = compute_features(candles)
    assert full.shape == (len(candles), len(FEATURE_NAMES))
    assert np.isnan(full[: LOOKBACK - 1]).all() and not np.isnan(full[LOOKBACK - 1:]).any()
    for t in (LOOKBACK, LOOKBACK + 1, 1000, 3333, len(candles)):
        np.testing.assert_array_equal(latest_features(candles.take(slice(0, t))), full[t - 1])


def test_lookahead_on_real_data(shared_data: Path) -> None:
    """Like freqtrade's lookahead-analysis: features at t from candles up to t only."""
    candles = read_csv(shared_data / "binance_BTC_USDT_1h.csv").candles
    candles = candles.take(slice(len(candles) - 6000, None))
    full = compute_features(candles)
    rng = np.random.default_rng(0)
    for t in sorted(rng.integers(LOOKBACK, len(candles), size=60)):
        truncated = compute_features(candles.take(slice(0, t + 1)))
        np.testing.assert_array_equal(truncated[t], full[t])
        np.testing.assert_array_equal(latest_features(candles.take(slice(0, t + 1))), full[t])


def test_future_candles_cannot_change_past_features() -> None:
    candles, _ = synth_market(2, seed=9)
    base = compute_features(candles)
    shocked = candles.take(slice(None))
    shocked.close[2000:] *= 3.0  # rewrite the future
    np.testing.assert_array_equal(compute_features(shocked)[:2000], base[:2000])


def test_labels_dead_band_and_unknown_tail() -> None:
    close = np.array([100.0, 100.1, 101.0, 99.0, 99.05, 99.0])
    band = dead_band(fee_bps=10, slippage_bps=5)
    assert band == pytest.approx(0.003)
    y, fwd = make_labels(close, horizon=1, band=band)
    assert y.tolist() == [FLAT, UP, DOWN, FLAT, FLAT, UNKNOWN]
    assert np.isnan(fwd[-1]) and fwd[1] == pytest.approx(np.log(101.0 / 100.1))


def test_auxiliary_labels_are_the_shorter_moves_of_the_same_rows() -> None:
    assert aux_horizons(240) == (60, 120, 180) and aux_horizons(4) == (1, 2, 3)
    assert aux_horizons(3) == (1, 2) and aux_horizons(2) == (1,) and aux_horizons(1) == ()
    candles, _ = synth_market(1, seed=3)
    samples = build_samples(candles, horizon=4, band=0.002, step_ms=60_000)
    assert samples.y_aux.shape == (len(samples), 3)
    rows = np.searchsorted(candles.open_time, samples.open_time)
    for col, k in enumerate((1, 2, 3)):  # the band scales with the square root of the share
        y, _ = make_labels(candles.close, k, 0.002 * np.sqrt(k / 4))
        np.testing.assert_array_equal(samples.y_aux[:, col], y[rows])
    assert (samples.y_aux != UNKNOWN).all()  # known wherever the traded label is
    part = samples.take(slice(10, 20))
    np.testing.assert_array_equal(part.y_aux, samples.y_aux[10:20])


def test_gap_aware_samples_skip_windows_across_gaps() -> None:
    candles, _ = synth_market(1, seed=2)
    keep = np.ones(len(candles), dtype=bool)
    keep[700] = False
    holed = candles.take(keep)
    with_gap = build_samples(holed, horizon=4, band=0.0, step_ms=60_000)
    blind = build_samples(holed, horizon=4, band=0.0)
    gap_time = candles.open_time[700]
    affected = (blind.open_time >= gap_time - 4 * 60_000) & (
        blind.open_time < gap_time + LOOKBACK * 60_000)
    assert affected.sum() >= LOOKBACK
    assert len(blind) - len(with_gap) == affected.sum()


def test_split_purges_the_label_horizon() -> None:
    s = chronological_split(1000, 0.15, 0.15, gap=4)
    assert (s.train, s.val, s.test) == (slice(0, 692), slice(696, 846), slice(850, 1000))
    folds = walk_forward(10_000, folds=3, test_size=1000, val_size=1000, gap=5, min_train=2000)
    assert [f.test.start for f in folds] == [7000, 8000, 9000]
    for f in folds:
        assert f.val.start - f.train.stop == 5 and f.test.start - f.val.stop == 5
    with pytest.raises(ValueError):
        walk_forward(3000, folds=3, test_size=1000, val_size=500, gap=5, min_train=2000)


def test_scaler_is_fitted_on_training_rows_only() -> None:
    X = np.concatenate([np.zeros((100, 2)), np.full((50, 2), 100.0)])
    scaler = Scaler.fit(X[:100])
    assert scaler.mean.tolist() == [0.0, 0.0]
    assert scaler.transform(X)[-1].tolist() == [100.0, 100.0]  # std 0 -> 1


def test_sequences_end_at_each_row() -> None:
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    seq = sequences(X, 3)
    assert seq.shape == (8, 3, 2)
    np.testing.assert_array_equal(seq[0], X[0:3])
    np.testing.assert_array_equal(seq[-1], X[7:10])
