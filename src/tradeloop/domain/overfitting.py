"""How much of the best of many backtests is luck: the deflated Sharpe ratio and the
probability of backtest overfitting.

- Deflated Sharpe ratio (Bailey & López de Prado, 2014): the probabilistic Sharpe ratio of the
  selected strategy against the Sharpe ratio the best of ``trials`` skill-less strategies would
  reach by chance (from the trials' Sharpe variance), corrected for the track length and the
  returns' skew and kurtosis. A probability; 0.95 is the usual bar.
- Probability of backtest overfitting by combinatorially symmetric cross-validation (Bailey,
  Borwein, López de Prado & Zhu, 2015): split the trials' return series into ``blocks``
  time blocks; for every half of the blocks, pick the trial that is best in-sample and rank it
  out-of-sample on the other half; PBO is the share of splits where it ranks at or below the
  out-of-sample median.

Sharpe ratios here are per period (not annualised), as in both papers' formulas. Pure: numpy
and the standard library only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def sharpe(returns: np.ndarray) -> float:
    """Per-period Sharpe ratio (mean / standard deviation with n - 1); NaN without spread."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return float("nan")
    sd = float(r.std(ddof=1))
    return float(r.mean() / sd) if sd > 0 else float("nan")


def probabilistic_sharpe(sr: float, n: int, skew: float, kurtosis: float,
                         benchmark: float = 0.0) -> float:
    """P(true Sharpe > ``benchmark``) given an observed per-period ``sr`` over ``n`` returns
    with this ``skew`` and (non-excess) ``kurtosis`` (3 for normal returns)."""
    if n < 2:
        raise ValueError(f"a probabilistic Sharpe ratio needs at least 2 returns, got {n}")
    var = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if not var > 0:
        raise ValueError(f"skew {skew:.3g} and kurtosis {kurtosis:.3g} leave no variance for "
                         f"a Sharpe ratio of {sr:.3g}")
    return _NORMAL.cdf((sr - benchmark) * math.sqrt(n - 1) / math.sqrt(var))


def expected_max_sharpe(trials: int, variance: float) -> float:
    """The Sharpe ratio the best of ``trials`` strategies without skill is expected to show,
    when the trials' Sharpe ratios vary with ``variance`` (False Strategy Theorem)."""
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    if trials == 1:
        return 0.0
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / trials)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (trials * math.e))
    return math.sqrt(max(variance, 0.0)) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


@dataclass(frozen=True)
class DeflatedSharpe:
    """The selected strategy's Sharpe against the best-of-``trials`` benchmark."""

    sharpe: float  # per period
    benchmark: float  # expected maximum Sharpe of the trials without skill, per period
    probability: float  # P(true Sharpe > 0 after the selection), the deflated Sharpe ratio
    trials: int
    returns: int
    skew: float
    kurtosis: float

    @property
    def significant(self) -> bool:
        return self.probability >= 0.95


def moments(returns: np.ndarray) -> tuple[float, float]:
    """Sample skewness and (non-excess) kurtosis; 0 and 3 without spread."""
    r = np.asarray(returns, dtype=np.float64)
    d = r - r.mean()
    m2 = float(np.mean(d * d))
    if m2 <= 0:
        return 0.0, 3.0
    return float(np.mean(d**3) / m2**1.5), float(np.mean(d**4) / m2**2)


def deflated_sharpe(returns: np.ndarray, trials: int, trial_sharpe_variance: float
                    ) -> DeflatedSharpe:
    """Deflated Sharpe ratio of the selected strategy's per-period ``returns``, chosen among
    ``trials`` whose per-period Sharpe ratios had ``trial_sharpe_variance``."""
    r = np.asarray(returns, dtype=np.float64)
    sr = sharpe(r)
    if not math.isfinite(sr):
        raise ValueError(f"the selected strategy's {r.size} returns have no Sharpe ratio")
    skew, kurt = moments(r)
    bench = expected_max_sharpe(trials, trial_sharpe_variance)
    return DeflatedSharpe(sr, bench, probabilistic_sharpe(sr, r.size, skew, kurt, bench),
                          trials, int(r.size), skew, kurt)


@dataclass(frozen=True)
class BacktestOverfitting:
    """CSCV result: PBO and the logits of the in-sample best's out-of-sample rank."""

    pbo: float
    logits: tuple[float, ...]  # one per split; <= 0: at or below the out-of-sample median
    splits: int
    blocks: int
    trials: int
    # mean out-of-sample Sharpe (per period) of the in-sample best, over the splits
    oos_sharpe_of_best: float


def backtest_overfitting(returns: np.ndarray, blocks: int = 16) -> BacktestOverfitting:
    """PBO of choosing the best column of ``returns`` (periods x trials, aligned in time)
    by its Sharpe ratio. Rows that do not fill the last block are dropped from the start."""
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"need a periods x trials matrix with at least 2 trials, got shape "
                         f"{m.shape}")
    if blocks < 2 or blocks % 2:
        raise ValueError(f"blocks must be even and at least 2, got {blocks}")
    size = m.shape[0] // blocks
    if size < 2:
        raise ValueError(f"{m.shape[0]} periods are too few for {blocks} blocks")
    if not np.isfinite(m).all():
        raise ValueError("returns contain NaN or infinite values")
    n_trials = m.shape[1]
    m = m[m.shape[0] - size * blocks:].reshape(blocks, size, n_trials)
    s1, s2 = m.sum(axis=1), (m * m).sum(axis=1)  # per block and trial
    chosen = np.array(list(combinations(range(blocks), blocks // 2)))
    in_mask = np.zeros((len(chosen), blocks))
    np.put_along_axis(in_mask, chosen, 1.0, axis=1)
    count = size * blocks // 2
    is_sr = _block_sharpe(in_mask @ s1, in_mask @ s2, count)
    oos_sr = _block_sharpe((1 - in_mask) @ s1, (1 - in_mask) @ s2, count)
    best = np.nanargmax(np.where(np.isnan(is_sr), -np.inf, is_sr), axis=1)
    oos = np.where(np.isnan(oos_sr), -np.inf, oos_sr)
    picked = oos[np.arange(len(best)), best]
    rank = (oos < picked[:, None]).sum(axis=1) + 1  # 1 = worst out of sample
    omega = rank / (n_trials + 1.0)
    logits = np.log(omega / (1.0 - omega))
    finite = oos_sr[np.arange(len(best)), best]
    return BacktestOverfitting(
        pbo=float(np.mean(logits <= 0)), logits=tuple(float(v) for v in logits),
        splits=len(chosen), blocks=blocks, trials=n_trials,
        oos_sharpe_of_best=float(np.nanmean(finite)) if np.isfinite(finite).any()
        else float("nan"))


def _block_sharpe(s1: np.ndarray, s2: np.ndarray, n: int) -> np.ndarray:
    mean = s1 / n
    var = (s2 - n * mean * mean) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 1e-300, mean / np.sqrt(np.maximum(var, 0.0)), np.nan)
