"""Deflated Sharpe ratio and PBO: the papers' worked example, a brute-force cross-check, and
what they say of noise, of a planted edge and of a search that picks the wrong thing."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from tradeloop.domain.overfitting import (
    backtest_overfitting,
    deflated_sharpe,
    expected_max_sharpe,
    moments,
    probabilistic_sharpe,
    sharpe,
)


def test_the_deflated_sharpe_papers_numerical_example() -> None:
    """Bailey & López de Prado (2014): 100 trials whose annualised Sharpe ratios vary by 1/2,
    five years of daily returns (1,250), the best annualised Sharpe 2.5 with skew -3 and
    kurtosis 10: the benchmark is 0.1132 per day and the deflated Sharpe ratio 0.9004."""
    days = 250
    bench = expected_max_sharpe(100, 0.5 / days)
    assert bench == pytest.approx(0.1132, abs=5e-5)
    dsr = probabilistic_sharpe(2.5 / math.sqrt(days), 1250, -3.0, 10.0, bench)
    assert dsr == pytest.approx(0.9004, abs=5e-4)  # not significant at 0.95, as the paper says


def test_probabilistic_sharpe_basics() -> None:
    assert expected_max_sharpe(1, 0.3) == 0.0  # one trial: nothing to deflate
    assert expected_max_sharpe(1000, 0.01) > expected_max_sharpe(10, 0.01) > 0
    assert probabilistic_sharpe(0.0, 500, 0.0, 3.0) == pytest.approx(0.5)
    # normal returns: z = SR sqrt(n - 1) / sqrt(1 + SR^2 / 2)
    z = 0.1 * math.sqrt(499) / math.sqrt(1 + 0.01 / 2)
    assert probabilistic_sharpe(0.1, 500, 0.0, 3.0) == pytest.approx(0.5 * (1 + math.erf(
        z / math.sqrt(2))))
    with pytest.raises(ValueError, match="at least 2 returns"):
        probabilistic_sharpe(0.1, 1, 0.0, 3.0)
    with pytest.raises(ValueError, match="trials must be at least 1"):
        expected_max_sharpe(0, 0.1)


def test_deflated_sharpe_from_returns_uses_their_moments() -> None:
    rng = np.random.default_rng(1)
    r = rng.standard_t(4, size=3000) * 0.01 + 0.001
    skew, kurt = moments(r)
    assert kurt > 3.5  # fat tails are seen
    out = deflated_sharpe(r, trials=50, trial_sharpe_variance=0.002)
    assert out.sharpe == pytest.approx(r.mean() / r.std(ddof=1))
    assert out.benchmark == pytest.approx(expected_max_sharpe(50, 0.002))
    assert out.probability == pytest.approx(probabilistic_sharpe(
        out.sharpe, 3000, skew, kurt, out.benchmark))
    with pytest.raises(ValueError, match="no Sharpe ratio"):
        deflated_sharpe(np.zeros(10), 5, 0.1)


def _brute_pbo(m: np.ndarray, blocks: int) -> float:
    size = len(m) // blocks
    parts = np.array_split(m[len(m) - size * blocks:], blocks)
    below = []
    for chosen in combinations(range(blocks), blocks // 2):
        ins = np.concatenate([parts[i] for i in chosen])
        outs = np.concatenate([parts[i] for i in range(blocks) if i not in chosen])
        best = int(np.argmax([sharpe(ins[:, j]) for j in range(m.shape[1])]))
        oos = [sharpe(outs[:, j]) for j in range(m.shape[1])]
        rank = sum(v < oos[best] for v in oos) + 1
        w = rank / (m.shape[1] + 1)
        below.append(math.log(w / (1 - w)) <= 0)
    return float(np.mean(below))


def test_pbo_matches_a_brute_force_cscv() -> None:
    rng = np.random.default_rng(2)
    m = rng.normal(0, 0.01, size=(603, 7))
    m[:, 3] += 0.0008
    for blocks in (4, 6, 8):
        assert backtest_overfitting(m, blocks).pbo == pytest.approx(_brute_pbo(m, blocks))


def test_pbo_of_noise_of_an_edge_and_of_a_search_that_fools_itself() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 0.01, size=(4000, 40))
    result = backtest_overfitting(noise, 16)
    assert result.splits == 12870 and result.trials == 40
    assert 0.35 <= result.pbo <= 0.65  # skill-less trials: the in-sample best is a coin flip
    edge = noise.copy()
    edge[:, 5] += 0.002  # one trial has a real edge (Sharpe 0.2 per period)
    assert backtest_overfitting(edge, 16).pbo < 0.05
    # trials that mean-revert in performance: what was best in-sample is worst after
    flip = noise.copy()
    regime = np.where((np.arange(4000) // 250) % 2 == 0, 1.0, -1.0)
    flip += 0.002 * regime[:, None] * np.linspace(-1, 1, 40)[None, :]
    assert backtest_overfitting(flip, 16).pbo > 0.5


def test_pbo_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 2 trials"):
        backtest_overfitting(np.zeros((100, 1)))
    with pytest.raises(ValueError, match="even"):
        backtest_overfitting(np.zeros((100, 3)), blocks=5)
    with pytest.raises(ValueError, match="too few"):
        backtest_overfitting(np.zeros((20, 3)), blocks=16)
    bad = np.zeros((100, 3))
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        backtest_overfitting(bad, 4)
