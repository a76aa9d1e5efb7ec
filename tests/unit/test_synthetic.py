import numpy as np

from tradeloop.adapters.market_data.synthetic import random_walk, synth_market
from tradeloop.domain.candle_checks import validate_candles
from tradeloop.domain.timeframes import Timeframe


def test_seeded_and_reproducible() -> None:
    a, ra = synth_market(10, seed=42)
    b, rb = synth_market(10, seed=42)
    c, _ = synth_market(10, seed=43)
    for f in ("open_time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    np.testing.assert_array_equal(ra, rb)
    assert not np.array_equal(a.close, c.close)


def test_candles_are_valid_and_realistic() -> None:
    candles, regime = synth_market(30, seed=7)
    assert len(candles) == 30 * 1440
    _, report = validate_candles(candles, Timeframe.parse("1m"))
    assert report.rejected == 0
    assert len(set(regime.tolist())) == 3  # bull, bear and range regimes all occur
    r = np.diff(np.log(candles.close))
    # volatility clustering: |returns| are autocorrelated; a plain random walk's are not
    a = np.abs(r) - np.abs(r).mean()
    assert np.dot(a[:-1], a[1:]) / np.dot(a, a) > 0.05
    # fat tails: excess kurtosis well above a Gaussian's 0
    z = (r - r.mean()) / r.std()
    assert (z**4).mean() - 3 > 1.0
    # volume rises with absolute returns
    assert np.corrcoef(np.abs(r), candles.volume[1:])[0, 1] > 0.2


def test_random_walk_has_no_drift_or_clustering() -> None:
    c = random_walk(20_000, seed=1)
    r = np.diff(np.log(c.close))
    a = np.abs(r) - np.abs(r).mean()
    assert abs(np.dot(a[:-1], a[1:]) / np.dot(a, a)) < 0.03
    assert abs(r.mean()) < 3 * r.std() / np.sqrt(len(r))
