"""Walk-forward scoring of optimisation trials (pure).

Each trial is one backtest of the whole window; its equity curve becomes daily returns, split
into ``folds + 1`` equal segments. Fold k chooses the trial that is best on segments
``0 .. k-1`` (in-sample, anchored) and scores it on segment k (out-of-sample). The sampler
only ever sees segments ``0 .. folds-1`` (the last fold's in-sample window), so the last
segment is out of sample for the whole search, not only for the choice.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from tradeloop.domain.overfitting import sharpe

DAY_MS = 86_400_000
OBJECTIVES = ("sharpe", "sortino", "calmar", "profit")


def daily_returns(times: np.ndarray, equity: np.ndarray, start_ms: int, end_ms: int,
                  initial: float) -> np.ndarray:
    """Simple returns of the equity at each UTC day's end over ``[start, end)`` (a day without
    a candle keeps the previous equity)."""
    days = max(1, -(-(end_ms - start_ms) // DAY_MS))
    edges = start_ms + DAY_MS * np.arange(1, days + 1)
    idx = np.searchsorted(times, edges, side="left") - 1  # last point before each day's end
    eq = np.where(idx >= 0, equity[np.clip(idx, 0, None)] if len(equity) else initial, initial)
    prev = np.concatenate(([initial], eq[:-1]))
    return np.asarray(eq / prev - 1.0, dtype=np.float64)


def score(returns: np.ndarray, objective: str) -> float:
    """The objective of a daily return series (annualised over 365 days where it applies);
    NaN where it is undefined (no spread, no drawdown)."""
    r = np.asarray(returns, dtype=np.float64)
    if not len(r):
        return float("nan")
    if objective == "profit":
        return float(np.prod(1.0 + r) - 1.0)
    if objective == "sharpe":
        return sharpe(r) * math.sqrt(365)
    if objective == "sortino":
        downside = math.sqrt(float(np.sum(np.minimum(r, 0.0) ** 2)) / max(len(r) - 1, 1))
        return float(r.mean() / downside * math.sqrt(365)) if downside > 0 else float("nan")
    if objective == "calmar":
        curve = np.cumprod(1.0 + r)
        dd = float(np.max(1.0 - curve / np.maximum.accumulate(curve)))
        years = len(r) / 365.0
        cagr = float(curve[-1] ** (1.0 / years) - 1.0) if curve[-1] > 0 else -1.0
        return cagr / dd if dd > 0 else float("nan")
    raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")


def segments(days: int, folds: int) -> list[slice]:
    """``folds + 1`` consecutive, nearly equal day ranges."""
    if folds < 1 or days < 2 * (folds + 1):
        raise ValueError(f"{days} days are too few for {folds} walk-forward folds")
    edges = np.linspace(0, days, folds + 2).round().astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def search_window(days: int, folds: int) -> slice:
    """The days the sampler's objective is computed on (all but the last segment)."""
    return slice(0, segments(days, folds)[-1].start)


@dataclass(frozen=True)
class Fold:
    fold: int
    in_sample_days: int
    out_sample_days: int
    chosen: int  # the trial chosen in-sample (its column of the matrix)
    in_sample: float
    out_sample: float
    out_sample_median: float  # of every trial: what a choice at random would expect


def walk_forward(matrix: np.ndarray, folds: int, objective: str) -> list[Fold]:
    """Per fold, the in-sample choice among the columns of ``matrix`` (days x trials) and how
    it did out of sample."""
    days = matrix.shape[0]
    out = []
    for k, seg in enumerate(segments(days, folds)[1:], start=1):
        ins = matrix[:seg.start]
        in_scores = np.array([score(ins[:, j], objective) for j in range(matrix.shape[1])])
        oos = np.array([score(matrix[seg, j], objective) for j in range(matrix.shape[1])])
        if np.isnan(in_scores).all():
            continue
        best = int(np.nanargmax(in_scores))
        out.append(Fold(k, seg.start, seg.stop - seg.start, best, float(in_scores[best]),
                        float(oos[best]), float(np.nanmedian(oos)) if np.isfinite(oos).any()
                        else float("nan")))
    return out
