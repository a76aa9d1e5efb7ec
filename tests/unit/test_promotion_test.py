"""The promotion decision: a paired test on overlapping labels, not a coin flip."""

from __future__ import annotations

import numpy as np

from tradeloop.ml.comparison import PromotionRule, compare, hac_mean_test
from tradeloop.ml.labels import make_labels

HORIZON, FRESH = 4, 500


def _world(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A persistent predictable signal x (AR(1)) and 4-bar labels of a market it drives."""
    n = FRESH + HORIZON + 1
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.9 * x[t - 1] + rng.normal(0, 0.44)
    r = 0.003 * x[:-1] + rng.normal(0, 0.006, n - 1)
    close = 100 * np.exp(np.concatenate(([0.0], np.cumsum(r))))
    y, _ = make_labels(close, HORIZON, 0.0024)
    return x[:FRESH], y[:FRESH]


def _model(rng: np.random.Generator, x: np.ndarray, noise: float) -> np.ndarray:
    """Probabilities from the signal seen through persistent (AR(1)) estimation error."""
    e = np.zeros(len(x))
    for t in range(1, len(x)):
        e[t] = 0.8 * e[t - 1] + rng.normal(0, 0.6 * noise)
    z = 0.8 * (x + e)
    logits = np.column_stack([-z, np.full(len(x), 0.3), z])
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def _promotion_rate(challenger_noise: float, seed: int, retrains: int = 200) -> float:
    rng = np.random.default_rng(seed)
    promoted = 0
    for _ in range(retrains):
        x, y = _world(rng)
        champion, challenger = _model(rng, x, 1.0), _model(rng, x, challenger_noise)
        promoted += compare(champion, challenger, y, HORIZON, PromotionRule()).promote
    return promoted / retrains


def test_an_equally_good_challenger_is_seldom_promoted() -> None:
    assert _promotion_rate(1.0, seed=11) <= 0.05


def test_a_truly_better_challenger_is_promoted() -> None:
    assert _promotion_rate(0.2, seed=12) >= 0.80


def test_ties_and_tiny_wins_keep_the_champion() -> None:
    rng = np.random.default_rng(3)
    x, y = _world(rng)
    champion = _model(rng, x, 1.0)
    same = compare(champion, champion.copy(), y, HORIZON, PromotionRule())
    assert not same.promote and same.log_loss.effect == 0.0
    few = compare(champion[:50], _model(rng, x, 0.1)[:50], y[:50], HORIZON, PromotionRule())
    assert not few.promote and "fresh samples" in few.verdict


def test_hac_variance_widens_for_overlapping_labels() -> None:
    rng = np.random.default_rng(5)
    iid = rng.normal(0, 1, 4000)
    overlapping = np.convolve(iid, np.ones(8) / 8, mode="valid")  # an 8-bar moving sum
    naive = overlapping.std() / np.sqrt(len(overlapping))
    t = hac_mean_test(overlapping, min_lags=8)
    assert t.std_error > 2.5 * naive  # the long-run variance of an MA(7) is ~8x the variance
    assert t.ci_low < t.effect < t.ci_high and 0.0 < t.p_value < 1.0
