"""The ``deployments`` table's writes: every run (backtest, rehearsed phase, paper, testnet,
live) is a row, opened when it starts and closed with its outcome; crashed and abandoned runs
are marked at the next start. The one module that writes the table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from tradeloop.adapters.store.schema import DeploymentRow
from tradeloop.domain.timestamps import ts


def _notes(notes: dict[str, Any] | str | None) -> str | None:
    if notes is None or isinstance(notes, str):
        return notes
    return json.dumps(notes, default=str)


class Deployments:
    """Writes of the ``deployments`` table on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, *, phase: int, symbols: list[str], mode: str, started_ms: int,
             notes: dict[str, Any] | str | None = None, status: str = "running") -> int:
        with self.engine.begin() as conn:
            pk = conn.execute(insert(DeploymentRow).values(
                phase=phase, symbols=",".join(symbols), mode=mode, status=status,
                started_at=ts(started_ms), notes=_notes(notes))).inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def update(self, deployment_id: int, *, status: str | None = None,
               ended_ms: int | None = None, duration_hours: float | None = None,
               notes: dict[str, Any] | str | None = None, report_path: str | None = None,
               verdict: str | None = None, criteria_met: int | None = None,
               health_score: float | None = None) -> None:
        values: dict[str, Any] = {k: v for k, v in {
            "status": status, "duration_hours": duration_hours, "notes": _notes(notes),
            "report_path": report_path, "verdict": verdict, "criteria_met": criteria_met,
            "health_score": health_score,
        }.items() if v is not None}
        if ended_ms is not None:
            values["ended_at"] = ts(ended_ms)
        if values:
            with self.engine.begin() as conn:
                conn.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id)
                             .values(**values))

    def record_validation(self, validated: int, symbols: str, mode: str, verdict: str,
                          criteria_met: int, report_path: str) -> int:
        """Phase 2: a completed row holding the re-validation of deployment ``validated``."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            pk = conn.execute(insert(DeploymentRow).values(
                phase=2, symbols=symbols, mode=mode, status="completed", started_at=now,
                ended_at=now, duration_hours=0.0, verdict=verdict, criteria_met=criteria_met,
                report_path=report_path, notes=json.dumps({"validates": validated}))
            ).inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def mark_crashed(self, current: int) -> list[int]:
        """Mark deployments still ``running`` (other than ``current``) as ``crashed``: the
        caller holds the data folder's lock, so none of them can still run."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(DeploymentRow.id, DeploymentRow.notes).where(
                DeploymentRow.status == "running", DeploymentRow.id != current)).all()
            for pk, notes in rows:
                data = json.loads(notes) if notes else {}
                data["stopped_by"] = "crash (found at the next start)"
                conn.execute(update(DeploymentRow).where(DeploymentRow.id == pk).values(
                    status="crashed", notes=json.dumps(data, default=str)))
        return [int(r[0]) for r in rows]

    def mark_abandoned(self) -> list[int]:
        """Deployments left ``running`` by a process that is gone: marked ``failed``."""
        with self.engine.begin() as conn:
            ids = list(conn.execute(select(DeploymentRow.id)
                                    .where(DeploymentRow.status == "running")).scalars().all())
            if ids:
                conn.execute(update(DeploymentRow).where(DeploymentRow.id.in_(ids)).values(
                    status="failed", ended_at=datetime.now(UTC).replace(tzinfo=None)))
        return ids
