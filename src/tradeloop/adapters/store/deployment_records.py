"""Reads of the ``deployments`` table and what hangs off a deployment (health checks,
alerts), for the rollout: validation, reports, phase approval, rollback and status."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session as OrmSession

from tradeloop.adapters.store.deployment_metrics import measure
from tradeloop.adapters.store.schema import AlertRow, DeploymentRow, HealthCheckRow
from tradeloop.domain.deployment_metrics import DeploymentMetrics


class DeploymentRecords:
    """The rollout's reads on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _one(self, stmt: object) -> DeploymentRow | None:
        with OrmSession(self.engine, expire_on_commit=False) as orm:
            return orm.execute(stmt).scalar_one_or_none()  # type: ignore[call-overload]

    def get(self, deployment_id: int) -> DeploymentRow | None:
        return self._one(select(DeploymentRow).where(DeploymentRow.id == deployment_id))

    def latest_finished(self, phase: int) -> DeploymentRow | None:
        return self._one(select(DeploymentRow).where(DeploymentRow.phase == phase,
                                                     DeploymentRow.ended_at.is_not(None))
                         .order_by(DeploymentRow.id.desc()).limit(1))

    def latest_live(self) -> DeploymentRow | None:
        """The newest deployment of a rollout phase on live data (not a replay, not a
        phase 2 verdict)."""
        return self._one(select(DeploymentRow).where(DeploymentRow.mode != "replay",
                                                     DeploymentRow.phase > 0,
                                                     DeploymentRow.phase != 2)
                         .order_by(DeploymentRow.id.desc()).limit(1))

    def with_verdicts(self, phases: tuple[int, ...]) -> list[DeploymentRow]:
        """Deployments of ``phases`` that have a verdict, newest first."""
        with OrmSession(self.engine, expire_on_commit=False) as orm:
            return list(orm.execute(select(DeploymentRow)
                                    .where(DeploymentRow.phase.in_(phases),
                                           DeploymentRow.verdict.is_not(None))
                                    .order_by(DeploymentRow.id.desc())).scalars().all())

    def recent(self, limit: int = 10) -> list[DeploymentRow]:
        with OrmSession(self.engine, expire_on_commit=False) as orm:
            return list(orm.execute(select(DeploymentRow).order_by(DeploymentRow.id.desc())
                                    .limit(limit)).scalars().all())

    def health(self, deployment_id: int) -> list[tuple[object, str, bool, float]]:
        """(timestamp, check, passed, score) of every health check, in order."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(  # type: ignore[misc]
                select(HealthCheckRow.timestamp, HealthCheckRow.check_name,
                       HealthCheckRow.passed, HealthCheckRow.health_score)
                .where(HealthCheckRow.deployment_id == deployment_id)
                .order_by(HealthCheckRow.id)).all()]

    def alerts(self, deployment_id: int) -> list[tuple[object, str, str | None, str]]:
        """(timestamp, severity, symbol, message) of every alert, in order."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(  # type: ignore[misc]
                select(AlertRow.timestamp, AlertRow.severity, AlertRow.symbol,
                       AlertRow.message)
                .where(AlertRow.deployment_id == deployment_id)
                .order_by(AlertRow.id)).all()]

    def measure(self, deployment_id: int, start_ms: int, end_ms: int, *,
                initial_equity: float, snapshot_ms: int) -> DeploymentMetrics:
        return measure(self.engine, deployment_id, start_ms, end_ms,
                       initial_equity=initial_equity, snapshot_ms=snapshot_ms)
