"""Validation criteria, health checks and their score (pure domain)."""

import numpy as np
import pytest

from tradeloop.domain.deployment_metrics import (
    DeploymentMetrics,
    max_drawdown_percent,
    uptime_share,
)
from tradeloop.domain.health import HealthThresholds, assess
from tradeloop.domain.phase_criteria import ValidationThresholds, validate


def metrics(**kw: object) -> DeploymentMetrics:
    base: dict[str, object] = dict(hours=24.0, trades=12, wins=7, pnl=125.5,
                                   initial_equity=10_000.0, final_equity=10_125.5,
                                   max_drawdown=3.2, errors=1, events=1000,
                                   transitions={"BTC/USDT": 4}, uptime=1.0)
    base.update(kw)
    return DeploymentMetrics(**base)  # type: ignore[arg-type]


def test_five_criteria_and_verdict() -> None:
    v = validate(metrics(), ValidationThresholds())
    assert [c.name for c in v.criteria] == ["win_rate", "max_drawdown", "error_rate",
                                            "profitability", "stability"]
    assert v.met == 5 and v.verdict == "APPROVED"
    assert v.criteria[0].line() == "✓ win_rate: 0.5833 (threshold: 0.5000) — 7/12 trades won"
    assert v.criteria[4].value == pytest.approx(4 / 24)
    # one failure still approves (>= 4/5), two reject
    assert validate(metrics(wins=5), ValidationThresholds()).verdict == "APPROVED"
    bad = validate(metrics(wins=5, pnl=-1.0), ValidationThresholds())
    assert (bad.met, bad.verdict) == (3, "REJECTED")
    assert bad.as_dict()["criteria_met"] == 3


def test_boundaries_follow_the_guide() -> None:
    t = ValidationThresholds()
    exact = validate(metrics(trades=10, wins=5, max_drawdown=15.0, errors=5, events=100,
                             pnl=0.0, transitions={"X": 48}), t)
    passed = {c.name: c.passed for c in exact.criteria}
    # win rate >= 50 %, drawdown <= 15 %, error rate < 5 %, profit > 0, < 2 transitions/h
    assert passed == {"win_rate": True, "max_drawdown": True, "error_rate": False,
                      "profitability": False, "stability": False}


def test_no_trades_fails_win_rate_and_profit() -> None:
    v = validate(metrics(trades=0, wins=0, pnl=0.0), ValidationThresholds())
    assert not v.criteria[0].passed and "no closed trades" in v.criteria[0].line()
    assert v.met == 3 and v.verdict == "REJECTED"


def test_stability_is_the_worst_symbol() -> None:
    m = metrics(hours=2.0, transitions={"A": 1, "B": 5})
    assert m.transitions_per_hour == 2.5


def test_health_score_and_drawdown_breach() -> None:
    t = HealthThresholds()
    good = assess(metrics(errors=0, transitions={}, max_drawdown=0.0), t)
    assert good.score == 100.0 and not good.failed
    breach = assess(metrics(max_drawdown=15.0), t)
    assert breach.drawdown_breached
    assert 0 < breach.score < good.score
    # the win rate is judged only after 20 trades
    assert assess(metrics(trades=19, wins=0), t).failed == []
    assert [c.name for c in assess(metrics(trades=20, wins=7), t).failed] == ["win_rate"]
    assert [c.name for c in assess(metrics(uptime=0.9), t).failed] == ["uptime"]


def test_drawdown_and_uptime_measures() -> None:
    assert max_drawdown_percent(np.array([110.0, 88.0, 120.0]), 100.0) == pytest.approx(20.0)
    assert max_drawdown_percent(np.array([]), 100.0) == 0.0
    minute = 60_000
    beats = list(range(0, 60 * minute + 1, minute))
    assert uptime_share(beats, 0, 60 * minute, minute) == 1.0
    # a 32-minute silence: 30 minutes beyond the two-interval allowance are down
    gap = [t for t in beats if not 10 * minute < t < 42 * minute]
    assert uptime_share(gap, 0, 60 * minute, minute) == pytest.approx(0.5)


def test_the_model_age_check_fails_over_the_budget_and_is_absent_without_one() -> None:
    budget = HealthThresholds(max_model_age_hours=6.0)
    over = assess(metrics(model_age_hours=7.5, model_age_of="BTC/USDT 1h"), budget)
    check = next(c for c in over.checks if c.name == "model_age")
    assert not check.passed and "BTC/USDT 1h" in check.line()
    within = assess(metrics(model_age_hours=5.0, model_age_of="BTC/USDT 1h"), budget)
    assert next(c for c in within.checks if c.name == "model_age").passed
    assert over.score == within.score  # not part of the score
    assert all(c.name != "model_age"
               for c in assess(metrics(model_age_hours=99.0), HealthThresholds()).checks)
