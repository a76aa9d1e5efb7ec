"""Deployment health (seed 002): the scheduled checks and a 0-100 health score.
Pure: takes a ``DeploymentMetrics`` measured by the store and thresholds from the config."""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.domain.deployment_metrics import Criterion, DeploymentMetrics


@dataclass(frozen=True)
class HealthThresholds:
    max_drawdown_percent: float = 15.0
    min_win_rate: float = 0.40
    min_trades_for_win_rate: int = 20
    max_error_rate: float = 0.05
    max_transitions_per_hour: float = 2.0
    min_uptime: float = 0.95
    max_api_error_rate: float = 0.20
    max_calibration_gap: float = 0.10
    max_model_age_hours: float = 0.0  # the model-age budget (0: no check)


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
    if m.calibration_gap is not None:  # live calibration of the gates (not in the score)
        checks.append(Criterion("calibration", m.calibration_gap, t.max_calibration_gap,
                                m.calibration_gap <= t.max_calibration_gap, "<=",
                                f"directional ECE of {m.calibration_of}'s gate over "
                                f"{m.calibration_samples} forecasts with a known outcome"))
    if t.max_model_age_hours and m.model_age_hours is not None:  # not in the score
        checks.append(Criterion("model_age", m.model_age_hours, t.max_model_age_hours,
                                m.model_age_hours <= t.max_model_age_hours, "<=",
                                f"the oldest model: {m.model_age_of}"))
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
