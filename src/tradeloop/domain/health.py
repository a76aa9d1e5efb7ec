"""Deployment health (scheduled checks, a 0-100 score) and phase validation (seed 002).

Pure: both take a ``DeploymentMetrics`` measured by the store and thresholds from the config.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DeploymentMetrics:
    """What a deployment did over a window of its clock."""

    hours: float
    trades: int
    wins: int
    pnl: float                       # sum of closed trades' P&L, quote currency
    initial_equity: float
    final_equity: float
    max_drawdown: float              # percent, peak to trough of the equity snapshots
    errors: int
    events: int                      # candle closes handled
    transitions: dict[str, int] = field(default_factory=dict)  # per symbol
    uptime: float = 1.0              # share of the window the loop was alive
    api_requests: int = 0            # exchange requests (live feeds and brokers only)
    api_errors: int = 0              # ... that failed (before retries)

    @property
    def win_rate(self) -> float:
        return self.wins / self.trades if self.trades else 0.0

    @property
    def error_rate(self) -> float:
        if self.events == 0:
            return 1.0 if self.errors else 0.0
        return self.errors / self.events

    @property
    def api_error_rate(self) -> float:
        return self.api_errors / self.api_requests if self.api_requests else 0.0

    @property
    def transitions_per_hour(self) -> float:
        """The least stable symbol's mode transitions per hour."""
        worst = max(self.transitions.values(), default=0)
        return worst / self.hours if self.hours > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "win_rate": self.win_rate, "error_rate": self.error_rate,
                "api_error_rate": self.api_error_rate,
                "transitions_per_hour": self.transitions_per_hour}


def max_drawdown_percent(equity: np.ndarray, initial: float) -> float:
    """Largest peak-to-trough fall, in percent, of ``initial`` followed by ``equity``."""
    curve = np.concatenate([[initial], np.asarray(equity, dtype=float)])
    peaks = np.maximum.accumulate(curve)
    return float(100.0 * np.max(1.0 - curve / peaks)) if len(curve) else 0.0


def uptime_share(times_ms: list[int], start_ms: int, end_ms: int, interval_ms: int) -> float:
    """Share of ``[start, end]`` covered by heartbeats ``interval_ms`` apart: a gap longer
    than two intervals counts as downtime beyond the first two intervals."""
    span = end_ms - start_ms
    if span <= 0:
        return 1.0
    points = [start_ms, *sorted(t for t in times_ms if start_ms <= t <= end_ms), end_ms]
    down = sum(max(0, b - a - 2 * interval_ms) for a, b in itertools.pairwise(points))
    return max(0.0, 1.0 - down / span)


@dataclass(frozen=True)
class Criterion:
    """One validation criterion or health check as measured."""

    name: str
    value: float
    threshold: float
    passed: bool
    comparison: str  # ">=", "<=", "<", ">"
    note: str = ""

    def line(self) -> str:
        mark = "✓" if self.passed else "✗"
        note = f" — {self.note}" if self.note else ""
        return f"{mark} {self.name}: {self.value:.4f} (threshold: {self.threshold:.4f}){note}"


def _cmp(value: float, op: str, threshold: float) -> bool:
    return {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold,
            ">": value > threshold}[op]


@dataclass(frozen=True)
class ValidationThresholds:
    min_win_rate: float = 0.50
    max_drawdown_percent: float = 15.0
    max_error_rate: float = 0.05
    min_profit: float = 0.0
    max_transitions_per_hour: float = 2.0
    min_criteria: int = 4


@dataclass(frozen=True)
class Validation:
    criteria: list[Criterion]
    required: int

    @property
    def met(self) -> int:
        return sum(c.passed for c in self.criteria)

    @property
    def verdict(self) -> str:
        return "APPROVED" if self.met >= self.required else "REJECTED"

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "criteria_met": self.met,
                "criteria_total": len(self.criteria), "required": self.required,
                "criteria": [asdict(c) for c in self.criteria]}


def validate(m: DeploymentMetrics, t: ValidationThresholds) -> Validation:
    """The five criteria of a phase: APPROVED when at least ``t.min_criteria`` are met."""
    no_trades = "no closed trades" if m.trades == 0 else f"{m.wins}/{m.trades} trades won"
    criteria = [
        Criterion("win_rate", m.win_rate, t.min_win_rate,
                  m.trades > 0 and _cmp(m.win_rate, ">=", t.min_win_rate), ">=", no_trades),
        Criterion("max_drawdown", m.max_drawdown, t.max_drawdown_percent,
                  _cmp(m.max_drawdown, "<=", t.max_drawdown_percent), "<="),
        Criterion("error_rate", m.error_rate, t.max_error_rate,
                  _cmp(m.error_rate, "<", t.max_error_rate), "<",
                  f"{m.errors} errors / {m.events} candle closes"),
        Criterion("profitability", m.pnl, t.min_profit, _cmp(m.pnl, ">", t.min_profit), ">",
                  "no closed trades" if m.trades == 0 else ""),
        Criterion("stability", m.transitions_per_hour, t.max_transitions_per_hour,
                  _cmp(m.transitions_per_hour, "<", t.max_transitions_per_hour), "<"),
    ]
    return Validation(criteria, t.min_criteria)


@dataclass(frozen=True)
class HealthThresholds:
    max_drawdown_percent: float = 15.0
    min_win_rate: float = 0.40
    min_trades_for_win_rate: int = 20
    max_error_rate: float = 0.05
    max_transitions_per_hour: float = 2.0
    min_uptime: float = 0.95
    max_api_error_rate: float = 0.20


@dataclass(frozen=True)
class Health:
    checks: list[Criterion]
    score: float  # 0-100

    @property
    def drawdown_breached(self) -> bool:
        return any(c.name == "max_drawdown" and not c.passed for c in self.checks)

    @property
    def failed(self) -> list[Criterion]:
        return [c for c in self.checks if not c.passed]


# Weights of the checks in the health score; each check contributes its weight times how far
# it is from its threshold (1 = ideal, 0 = at or past the threshold).
SCORE_WEIGHTS = {"max_drawdown": 30.0, "win_rate": 20.0, "error_rate": 20.0,
                 "stability": 15.0, "uptime": 15.0}


def assess(m: DeploymentMetrics, t: HealthThresholds) -> Health:
    """The scheduled health checks and the 0-100 health score."""
    enough = m.trades >= t.min_trades_for_win_rate
    tph = m.transitions_per_hour
    checks = [
        Criterion("max_drawdown", m.max_drawdown, t.max_drawdown_percent,
                  m.max_drawdown < t.max_drawdown_percent, "<"),
        Criterion("win_rate", m.win_rate, t.min_win_rate,
                  not enough or m.win_rate >= t.min_win_rate, ">=",
                  "" if enough else f"{m.trades}/{t.min_trades_for_win_rate} trades: not judged"),
        Criterion("error_rate", m.error_rate, t.max_error_rate, m.error_rate < t.max_error_rate,
                  "<", f"{m.errors} errors / {m.events} candle closes"),
        Criterion("stability", tph, t.max_transitions_per_hour,
                  tph < t.max_transitions_per_hour, "<"),
        Criterion("uptime", m.uptime, t.min_uptime, m.uptime > t.min_uptime, ">"),
    ]
    if m.api_requests:  # a live deployment: the exchange's answers (not in the score)
        checks.append(Criterion("api_error_rate", m.api_error_rate, t.max_api_error_rate,
                                m.api_error_rate < t.max_api_error_rate, "<",
                                f"{m.api_errors} failed / {m.api_requests} exchange requests"))
    parts = {
        "max_drawdown": 1.0 - m.max_drawdown / t.max_drawdown_percent,
        "win_rate": 1.0 if not enough else
        (m.win_rate - t.min_win_rate) / max(1e-9, 1.0 - t.min_win_rate) * 0.5 + 0.5
        if m.win_rate >= t.min_win_rate else 0.0,
        "error_rate": 1.0 - m.error_rate / t.max_error_rate,
        "stability": 1.0 - tph / t.max_transitions_per_hour,
        "uptime": (m.uptime - t.min_uptime) / max(1e-9, 1.0 - t.min_uptime),
    }
    score = sum(SCORE_WEIGHTS[k] * min(1.0, max(0.0, v)) for k, v in parts.items())
    return Health(checks, round(score, 1))


def initial_equity(notes: str | None, default: float) -> float:
    """A deployment's equity at its start: recorded in its notes (an exchange account's is
    whatever the account held), else the configured simulated balance."""
    try:
        value = json.loads(notes).get("initial_equity") if notes else None
    except (ValueError, AttributeError):
        value = None
    return float(value) if isinstance(value, int | float) and value > 0 else default
