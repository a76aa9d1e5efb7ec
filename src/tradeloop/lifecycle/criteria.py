"""The criteria of each stage, judged on windows of a track record. Each verdict says where
the instance goes (or that it stays), why, and every criterion with its value.

Selection under noise: the backtest's deflated Sharpe counts every backtest the pipeline has
judged, the paper stage's every instance that has entered paper; the live candidate's
consistency with paper is a one-sided Welch t-test on daily returns, not eyeballing.

The deflated Sharpe's benchmark is the Sharpe ratio the best of ``trials`` skill-less
strategies reaches by chance over the same number of days: the trials' Sharpe variance is
the null's, ``1 / (days - 1)`` per day, not the spread across the candidates (a catalogue
mixes strategies with real, opposite skills: a mean-reversion rule that loses steadily on a
trending market would inflate the spread and hide the trend follower's edge). Counting every
trial as independent makes the benchmark conservative when trials are correlated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from tradeloop.domain.overfitting import expected_max_sharpe
from tradeloop.lifecycle.record import Window
from tradeloop.lifecycle.stages import Check, Stage, at_least, at_most
from tradeloop.settings.schema import (
    BacktestStageSettings,
    LiveCandidateStageSettings,
    PaperStageSettings,
    ReviewSettings,
)

MIN_JUDGED_DAYS = 7  # a live stage's rolling figures need at least a week


@dataclass(frozen=True)
class Verdict:
    after: Stage | None  # None: stays where it is
    reason: str
    checks: tuple[Check, ...]


def deflated(window: Window, trials: int) -> float | None:
    """P(true Sharpe > the best of ``trials`` skill-less ones) of the window's returns."""
    if window.days < 3:
        return None
    return window.probability(expected_max_sharpe(max(trials, 1), 1.0 / (window.days - 1)))


def _unmet(checks: tuple[Check, ...]) -> str:
    return "; ".join(str(c) for c in checks if not c.passed)


def backtest(window: Window, cfg: BacktestStageSettings, trials: int) -> Verdict:
    """backtested -> paper when the walk-forward backtest before the decision clears every
    criterion; otherwise it stays backtested."""
    checks = (
        at_least("days", float(window.days), cfg.lookback_days * 0.9),
        at_least("trades", float(len(window.trades)), cfg.min_trades),
        at_least("sharpe", window.sharpe, cfg.min_sharpe),
        at_most("max_drawdown_percent", 100 * window.max_drawdown, cfg.max_drawdown_percent),
        at_least("deflated_sharpe", deflated(window, trials),
                 cfg.min_deflated_sharpe),
    )
    if all(c.passed for c in checks):
        return Verdict(Stage.PAPER, f"backtest passed ({trials} backtests judged)", checks)
    return Verdict(None, f"backtest not passed: {_unmet(checks)}", checks)


def paper(window: Window, cfg: PaperStageSettings, trials: int) -> Verdict:
    """paper -> live_candidate after ``min_days`` once every criterion holds; retired on a
    drawdown breach or when ``max_days`` pass without it."""
    dd = at_most("max_drawdown_percent", 100 * window.max_drawdown, cfg.max_drawdown_percent)
    checks = (
        at_least("days", float(window.days), cfg.min_days),
        at_least("trades", float(len(window.trades)), cfg.min_trades),
        at_least("sharpe", window.sharpe, cfg.min_sharpe),
        dd,
        at_least("deflated_sharpe", deflated(window, trials),
                 cfg.min_deflated_sharpe),
    )
    if not dd.passed:
        return Verdict(Stage.RETIRED, f"paper drawdown breach: {dd}", checks)
    if all(c.passed for c in checks):
        return Verdict(Stage.LIVE_CANDIDATE, f"paper criteria met over {window.days} days "
                       f"({trials} instances tried on paper)", checks)
    if window.days >= cfg.max_days:
        return Verdict(Stage.RETIRED, f"not proven within {cfg.max_days:g} days of paper: "
                       f"{_unmet(checks)}", checks)
    return Verdict(None, f"paper: {_unmet(checks)}", checks)


def consistency(live: np.ndarray, paper_returns: np.ndarray) -> float | None:
    """One-sided Welch t-test p-value of "the live candidate's mean daily return is below
    paper's"; small: inconsistent. None under two days on either side or without spread."""
    a, b = np.asarray(live, dtype=np.float64), np.asarray(paper_returns, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb <= 0:
        return None
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va * va / (len(a) - 1) if va > 0 else 0.0)
                           + (vb * vb / (len(b) - 1) if vb > 0 else 0.0))
    return float(stats.t.cdf(t, df))


def live_candidate(window: Window, paper_window: Window, cfg: LiveCandidateStageSettings
                   ) -> Verdict:
    """live_candidate -> live after ``min_days`` when its returns are consistent with
    paper's; retired on a drawdown breach or when still inconsistent at ``max_days``."""
    dd = at_most("max_drawdown_percent", 100 * window.max_drawdown, cfg.max_drawdown_percent)
    consistent = at_least("consistency_p_value", consistency(window.returns,
                                                             paper_window.returns),
                          cfg.consistency_alpha)
    checks = (at_least("days", float(window.days), cfg.min_days), dd, consistent)
    if not dd.passed:
        return Verdict(Stage.RETIRED, f"live candidate drawdown breach: {dd}", checks)
    if all(c.passed for c in checks):
        return Verdict(Stage.LIVE, f"consistent with paper over {window.days} days", checks)
    if window.days >= cfg.max_days:
        return Verdict(Stage.RETIRED, f"not consistent with paper within {cfg.max_days:g} "
                       f"days: {_unmet(checks)}", checks)
    return Verdict(None, f"live candidate: {_unmet(checks)}", checks)


def _health(window: Window, cfg: ReviewSettings, probability: float) -> tuple[Check, ...]:
    return (at_least("probabilistic_sharpe", window.probability(0.0), probability),
            at_most("max_drawdown_percent", 100 * window.max_drawdown,
                    cfg.max_drawdown_percent),
            at_most("loss_streak", float(window.loss_streak), cfg.max_loss_streak - 1))


def live(window: Window, cfg: ReviewSettings) -> Verdict:
    """live -> under_review on sustained degradation over the rolling window."""
    checks = _health(window, cfg, cfg.min_probability)
    if window.days < MIN_JUDGED_DAYS:
        return Verdict(None, f"live for {window.days} days: judged from "
                       f"{MIN_JUDGED_DAYS}", checks)
    if all(c.passed for c in checks):
        return Verdict(None, "live: healthy", checks)
    return Verdict(Stage.UNDER_REVIEW, f"degraded: {_unmet(checks)}", checks)


def under_review(window: Window, since_review: Window, cfg: ReviewSettings) -> Verdict:
    """under_review -> live when the rolling window recovers; retired on a drawdown breach
    since the review began or after ``max_days`` without recovery."""
    checks = _health(window, cfg, cfg.recover_probability)
    breach = at_most("drawdown_since_review_percent", 100 * since_review.max_drawdown,
                     cfg.max_drawdown_percent)
    if not breach.passed:
        return Verdict(Stage.RETIRED, f"drawdown breach under review: {breach}",
                       (*checks, breach))
    if all(c.passed for c in checks):
        return Verdict(Stage.LIVE, "recovered: " + ", ".join(str(c) for c in checks),
                       (*checks, breach))
    if since_review.days >= cfg.max_days:
        return Verdict(Stage.RETIRED, f"no recovery within {cfg.max_days:g} days: "
                       f"{_unmet(checks)}", (*checks, breach))
    return Verdict(None, f"under review: {_unmet(checks)}", (*checks, breach))
