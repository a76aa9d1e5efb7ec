"""What a deployment did over a window of its clock, and how a criterion or check is
measured against its threshold (shared by the health checks and the phase criteria). Pure."""

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
    # live calibration of the least calibrated gate (None: not enough known outcomes)
    calibration_gap: float | None = None  # its directional ECE
    calibration_samples: int = 0
    calibration_of: str = ""         # which gate
    # the model-age budget: the oldest series' model (None: not known)
    model_age_hours: float | None = None
    model_age_of: str = ""           # which series

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


def compare(value: float, op: str, threshold: float) -> bool:
    return {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold,
            ">": value > threshold}[op]


def initial_equity(notes: str | None, default: float) -> float:
    """A deployment's equity at its start: recorded in its notes (an exchange account's is
    whatever the account held), else the configured simulated balance."""
    try:
        value = json.loads(notes).get("initial_equity") if notes else None
    except (ValueError, AttributeError):
        value = None
    return float(value) if isinstance(value, int | float) and value > 0 else default
