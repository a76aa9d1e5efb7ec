"""Paired comparison of two forecasters on the same labels: is the challenger better, or lucky?

Both models' per-sample log losses on the same rows give the loss differential
``d_t = loss_champion - loss_challenger`` (positive: the challenger is better). Labels over a
horizon of ``h`` bars overlap, so neighbouring ``d_t`` are correlated; the Diebold-Mariano
statistic uses a Newey-West (HAC, Bartlett) long-run variance with at least ``h`` lags and the
Harvey-Leybourne-Newbold small-sample correction, against Student's t with ``n - 1`` degrees of
freedom. A directional metric (hit rate of ``p_up`` vs ``p_down`` on the rows whose label is up
or down) is compared the same way, so a challenger that wins on log loss by being better at
"flat" but worse at the direction that is traded is not promoted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from tradeloop.ml.labels import FLAT, UP


@dataclass(frozen=True)
class PairedTest:
    """Mean of a paired differential with its HAC standard error, interval and p-value."""

    n: int
    effect: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float  # one-sided, H0: effect <= 0


def bandwidth(e: np.ndarray, min_lags: int) -> int:
    """Newey-West lags: Andrews' (1991) AR(1) plug-in for the Bartlett kernel, at least
    ``min_lags`` (the label overlap). Model errors persist beyond the label horizon (features
    are rolling windows), so the overlap alone under-states the variance."""
    n = len(e)
    denom = float(e[:-1] @ e[:-1])
    rho = float(e[1:] @ e[:-1]) / denom if denom > 0 else 0.0
    rho = min(max(rho, -0.97), 0.97)
    alpha = 4 * rho * rho / ((1 - rho) ** 2 * (1 + rho) ** 2)
    auto = math.ceil(1.1447 * (alpha * n) ** (1 / 3))
    return max(0, min(max(min_lags, auto), n - 1))


def hac_mean_test(d: np.ndarray, min_lags: int, confidence: float = 0.95) -> PairedTest:
    """Diebold-Mariano test of ``mean(d) > 0`` with a Newey-West variance (at least
    ``min_lags`` lags, more when the differential is persistent). ``min_lags`` is the label
    horizon ``h`` in rows; with ``n <= 2h`` rows there is not one independent pair of
    windows to compare, and the test says so (p = 1)."""
    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    h = max(1, min_lags)
    if n < 3 or n <= 2 * h:
        return PairedTest(n, float(d.mean()) if n else 0.0, math.inf, -math.inf, math.inf, 1.0)
    mean = float(d.mean())
    e = d - mean
    lags = bandwidth(e, min_lags)
    var = float(e @ e) / n
    for k in range(1, lags + 1):
        var += 2.0 * (1.0 - k / (lags + 1)) * float(e[k:] @ e[:-k]) / n
    var = max(var, 1e-24)
    # Harvey, Leybourne & Newbold (1997): corrects the DM statistic's small-sample size for
    # forecasts h steps ahead (h: the label horizon, not the bandwidth)
    hln = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    se = math.sqrt(var / n)
    t = hln * mean / se
    p = float(stats.t.sf(t, df=n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * se / hln
    return PairedTest(n, mean, se, mean - half, mean + half, p)


def log_losses(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample log loss of class probabilities ``(n, 3)`` against labels ``y``."""
    return -np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))


def directional_hits(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1/0 per row whose label is up or down: did ``p_up`` vs ``p_down`` pick its side?"""
    moved = y != FLAT
    says_up = probs[moved, 2] > probs[moved, 0]
    return (says_up == (y[moved] == UP)).astype(np.float64)


@dataclass(frozen=True)
class PromotionRule:
    """When a challenger replaces the champion."""

    min_samples: int = 100
    min_improvement: float = 0.002  # nats per sample of log loss
    alpha: float = 0.025  # one-sided (a two-sided 5 % test)


@dataclass(frozen=True)
class Comparison:
    """A challenger against the champion on the same fresh labels, and the verdict."""

    log_loss: PairedTest  # effect = champion log loss - challenger log loss
    directional: PairedTest  # effect = challenger hit rate - champion hit rate
    champion_log_loss: float
    challenger_log_loss: float
    champion_directional: float
    challenger_directional: float
    promote: bool
    verdict: str

    def metrics(self) -> dict[str, float]:
        """What MLflow and ``retraining_history`` record about the decision."""
        ll, dr = self.log_loss, self.directional
        return {"promotion_samples": float(ll.n), "promotion_effect": ll.effect,
                "promotion_ci_low": ll.ci_low, "promotion_ci_high": ll.ci_high,
                "promotion_p_value": ll.p_value,
                "promotion_champion_log_loss": self.champion_log_loss,
                "promotion_challenger_log_loss": self.challenger_log_loss,
                "promotion_champion_directional": self.champion_directional,
                "promotion_challenger_directional": self.challenger_directional,
                "promotion_directional_effect": dr.effect,
                "promotion_promoted": float(self.promote)}


def compare(champion: np.ndarray, challenger: np.ndarray, y: np.ndarray, horizon: int,
            rule: PromotionRule) -> Comparison:
    """Paired test of the two models' probabilities on the same rows and labels.

    Promoted only when the challenger's log loss is lower by at least ``min_improvement``
    with a one-sided p-value below ``alpha``, on at least ``min_samples`` rows, and its
    directional hit rate is not significantly worse. Ties keep the champion."""
    if not (len(champion) == len(challenger) == len(y)):
        raise ValueError("both models must be scored on the same rows")
    k_ll, c_ll = log_losses(champion, y), log_losses(challenger, y)
    ll = hac_mean_test(k_ll - c_ll, min_lags=horizon)
    k_hit, c_hit = directional_hits(champion, y), directional_hits(challenger, y)
    dr = hac_mean_test(c_hit - k_hit, min_lags=horizon)
    worse_direction = dr.n >= 2 and 1.0 - dr.p_value < rule.alpha and dr.effect < 0
    if len(y) < rule.min_samples:
        promote, why = False, f"only {len(y)} fresh samples (< {rule.min_samples})"
    elif ll.effect < rule.min_improvement:
        promote, why = False, (f"improvement {ll.effect:+.4f} < margin "
                               f"{rule.min_improvement:.4f}")
    elif ll.p_value >= rule.alpha:
        promote, why = False, f"not significant (p = {ll.p_value:.3f} >= {rule.alpha})"
    elif worse_direction:
        promote, why = False, "directional hit rate significantly worse"
    else:
        promote, why = True, f"better (p = {ll.p_value:.3f})"
    return Comparison(ll, dr, _mean(k_ll), _mean(c_ll), _mean(k_hit), _mean(c_hit), promote,
                      why)


def _mean(a: np.ndarray) -> float:
    return float(a.mean()) if len(a) else float("nan")
