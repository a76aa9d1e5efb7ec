"""Phase validation (seed 002): the five criteria measured from the database, the verdict
(APPROVED at >= 4/5), the JSON report in ``production_reports/``, phase 2's re-validation and
the approval phase 3 needs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tradeloop.domain.deployment_metrics import DeploymentMetrics, initial_equity
from tradeloop.domain.errors import DeploymentError
from tradeloop.domain.phase_criteria import Validation, ValidationThresholds, validate
from tradeloop.domain.timestamps import ms_of
from tradeloop.settings import Settings

if TYPE_CHECKING:
    from tradeloop.deploy.session import SessionResult

RULE = "=" * 80
Say = Callable[[str], None]


class DeploymentRow(Protocol):
    """A ``deployments`` row as the rollout reads it."""

    id: int
    phase: int
    symbols: str
    mode: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_hours: float | None
    verdict: str | None
    criteria_met: int | None
    report_path: str | None
    notes: str | None
    health_score: float | None


class RolloutRecords(Protocol):
    """The rollout's reads of the store (deployments, their health checks and alerts)."""

    def get(self, deployment_id: int) -> DeploymentRow | None: ...

    def latest_finished(self, phase: int) -> DeploymentRow | None: ...

    def latest_live(self) -> DeploymentRow | None: ...

    def with_verdicts(self, phases: tuple[int, ...]) -> Sequence[DeploymentRow]: ...

    def recent(self, limit: int = 10) -> Sequence[DeploymentRow]: ...

    def health(self, deployment_id: int) -> Sequence[tuple[Any, str, bool, float]]: ...

    def alerts(self, deployment_id: int) -> Sequence[tuple[Any, str, str | None, str]]: ...

    def measure(self, deployment_id: int, start_ms: int, end_ms: int, *,
                initial_equity: float, snapshot_ms: int) -> DeploymentMetrics: ...


class ValidationLog(Protocol):
    def update(self, deployment_id: int, *, report_path: str | None = None,
               verdict: str | None = None, criteria_met: int | None = None) -> None: ...

    def record_validation(self, validated: int, symbols: str, mode: str, verdict: str,
                          criteria_met: int, report_path: str) -> int: ...


@dataclass
class PhaseOutcome:
    deployment_id: int
    session: SessionResult | None
    validation: Validation
    metrics: DeploymentMetrics
    report: Path


PAPER_VALIDATION = 0  # the phase number of run_paper_trading_validation.py's runs


def thresholds(settings: Settings) -> ValidationThresholds:
    v = settings.deployment.validation
    return ValidationThresholds(v.min_win_rate, v.max_drawdown_percent, v.max_error_rate,
                                v.min_profit, v.max_transitions_per_hour, v.min_criteria)


def fmt_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def conclude(settings: Settings, records: RolloutRecords, log: ValidationLog,
             deployment_id: int, say: Say, *, session: SessionResult | None = None
             ) -> PhaseOutcome:
    """Validate a finished deployment from the database, store the verdict and write the
    report (also phase 2's re-validation)."""
    row = records.get(deployment_id)
    if row is None:
        raise DeploymentError(f"no deployment {deployment_id}")
    if row.ended_at is None:
        raise DeploymentError(f"deployment {deployment_id} has not ended yet")
    start, end = ms_of(row.started_at), ms_of(row.ended_at)
    metrics = records.measure(deployment_id, start, end,
                              initial_equity=initial_equity(row.notes,
                                                            settings.trading.initial_balance),
                              snapshot_ms=int(settings.deployment.snapshot_seconds * 1000))
    validation = validate(metrics, thresholds(settings))
    phase = row.phase
    name = "PAPER TRADING" if phase == PAPER_VALIDATION else f"PHASE {phase}"
    say(RULE)
    say(f"{name} COMPLETE - VALIDATING RESULTS" if phase != 2 and session else
        f"PHASE 2: VALIDATING DEPLOYMENT {deployment_id} (phase {phase})")
    say(RULE)
    say(f"Validating {name.title()} results...")
    say(RULE)
    say(f"{name} VALIDATION RESULTS")
    say(RULE)
    say(f"Criteria Met: {validation.met}/{len(validation.criteria)}")
    say("")
    for c in validation.criteria:
        say(c.line())
    say("")
    say(f"Verdict: {validation.verdict}")
    say(RULE)
    report = write_report(settings, records, row, validation, metrics)
    log.update(deployment_id, verdict=validation.verdict, criteria_met=validation.met,
               report_path=str(report))
    if validation.verdict == "APPROVED":
        say(f"✅ {name.title()} APPROVED" + (" - Ready for Phase 3 (Full Rollout)"
                                              if phase == 1 else
                                              " - Ready for Phase 1" if phase == PAPER_VALIDATION
                                              else ""))
    else:
        failed = ", ".join(c.name for c in validation.criteria if not c.passed)
        say(f"❌ {name.title()} REJECTED ({validation.met}/{len(validation.criteria)} criteria; "
            f"failed: {failed}). See the report and `python monitor_production.py --report`.")
    say(f"Report: {report}")
    return PhaseOutcome(deployment_id, session, validation, metrics, report)


def write_report(settings: Settings, records: RolloutRecords, row: DeploymentRow,
                 validation: Validation, metrics: DeploymentMetrics) -> Path:
    folder = settings.path(settings.paths.reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    health = records.health(row.id)
    alerts = records.alerts(row.id)
    doc = {
        "deployment": {"id": row.id, "phase": row.phase, "mode": row.mode,
                       "symbols": row.symbols.split(","), "status": row.status,
                       "started_at": str(row.started_at), "ended_at": str(row.ended_at),
                       "duration_hours": row.duration_hours,
                       "notes": json.loads(row.notes) if row.notes else None},
        "validation": validation.as_dict(),
        "metrics": metrics.as_dict(),
        "health": {"rounds": len({t for t, *_ in health}),
                   "failed_checks": sum(1 for h in health if not h[2]),
                   "last_score": health[-1][3] if health else None},
        "alerts": [{"timestamp": str(t), "severity": s, "symbol": sym, "message": m}
                   for t, s, sym, m in alerts],
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    path = folder / f"phase{row.phase}_deployment{row.id}_{stamp}.json"
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return path


def revalidate_latest(settings: Settings, records: RolloutRecords, log: ValidationLog,
                      say: Say) -> PhaseOutcome:
    """Phase 2: validate the latest finished phase 1 again from the database; the result is
    a phase 2 row that phase 3 reads."""
    row = records.latest_finished(1)
    if row is None:
        raise DeploymentError("no finished phase 1 deployment to validate; run "
                              "`python deploy_production.py --phase 1 --symbol BTC/USDT` first")
    outcome = conclude(settings, records, log, row.id, say)
    log.record_validation(row.id, row.symbols, row.mode, outcome.validation.verdict,
                          outcome.validation.met, str(outcome.report))
    return outcome


def phase1_approval(records: RolloutRecords) -> tuple[str | None, DeploymentRow | None]:
    """The verdict on the latest phase 1 (its own, or a later phase 2 re-validation)."""
    rows = records.with_verdicts((1, 2))
    phase1 = next((r for r in rows if r.phase == 1), None)
    if phase1 is None:
        return None, None
    return rows[0].verdict, phase1



def write_validation_result(settings: Settings, outcome: PhaseOutcome, *, mode: str,
                            symbols: list[str], hours: float, replayed: bool, passed: bool
                            ) -> Path:
    """The paper-trading validation's result in ``validation_results/`` (the guide's
    prerequisite of phase 1; the pre-deployment checks read it back). ``hours``: what the
    run covered; ``passed``: APPROVED on a run that completed its duration."""
    folder = settings.path(settings.paths.validation_dir)
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"kind": "paper_trading_validation", "deployment_id": outcome.deployment_id,
           "mode": mode, "replayed": replayed, "symbols": symbols, "duration_hours": hours,
           "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "passed": passed,
           **outcome.validation.as_dict(), "metrics": outcome.metrics.as_dict(),
           "report": str(outcome.report)}
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    path = folder / f"paper_validation_{stamp}_deployment{outcome.deployment_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    tmp.replace(path)
    return path
