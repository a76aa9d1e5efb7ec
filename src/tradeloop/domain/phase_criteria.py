"""The phase validation criteria of seed 002: five criteria, APPROVED at >= ``min_criteria``.
Pure: takes a ``DeploymentMetrics`` measured by the store and thresholds from the config."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tradeloop.domain.deployment_metrics import Criterion, DeploymentMetrics, compare


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
                  m.trades > 0 and compare(m.win_rate, ">=", t.min_win_rate), ">=", no_trades),
        Criterion("max_drawdown", m.max_drawdown, t.max_drawdown_percent,
                  compare(m.max_drawdown, "<=", t.max_drawdown_percent), "<="),
        Criterion("error_rate", m.error_rate, t.max_error_rate,
                  compare(m.error_rate, "<", t.max_error_rate), "<",
                  f"{m.errors} errors / {m.events} candle closes"),
        Criterion("profitability", m.pnl, t.min_profit, compare(m.pnl, ">", t.min_profit), ">",
                  "no closed trades" if m.trades == 0 else ""),
        Criterion("stability", m.transitions_per_hour, t.max_transitions_per_hour,
                  compare(m.transitions_per_hour, "<", t.max_transitions_per_hour), "<"),
    ]
    return Validation(criteria, t.min_criteria)
