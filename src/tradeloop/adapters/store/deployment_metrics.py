"""Measure a deployment from the database: the same numbers for the running health checks,
the end-of-phase validation and the phase 2 re-validation (DESIGN 4); the health checks'
reads and writes (:class:`HealthRecords`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, Engine, case, func, insert, select

from tradeloop.adapters.store.calibration_queries import CalibrationSpec, live_calibration
from tradeloop.adapters.store.deployments import Deployments
from tradeloop.adapters.store.runtime_state import RuntimeState
from tradeloop.adapters.store.schema import (
    EquityHistoryRow,
    ErrorLogRow,
    ExchangeMetricsRow,
    HealthCheckRow,
    LearningStateRow,
    TradeOutcomeRow,
)
from tradeloop.domain.deployment_metrics import (
    DeploymentMetrics,
    max_drawdown_percent,
    uptime_share,
)
from tradeloop.domain.health import Health
from tradeloop.domain.timestamps import ms_of, ts
from tradeloop.domain.trading import MAIN_INSTANCE
from tradeloop.monitoring.health_checks import WindowCounts

HOUR_MS = 3_600_000


def trade_totals(conn: Connection, deployment_id: int, lo: datetime, hi: datetime
                 ) -> tuple[int, int, float]:
    """Closed trades, wins and P&L of a deployment with exit time in ``[lo, hi]``."""
    n, wins, pnl = conn.execute(
        select(func.count(), func.sum(case((TradeOutcomeRow.outcome == "win", 1), else_=0)),
               func.sum(TradeOutcomeRow.pnl_absolute))
        .where(TradeOutcomeRow.deployment_id == deployment_id,
               TradeOutcomeRow.instance == MAIN_INSTANCE,
               TradeOutcomeRow.exit_time >= lo, TradeOutcomeRow.exit_time <= hi)).one()
    return int(n), int(wins or 0), float(pnl or 0.0)


def error_count(conn: Connection, deployment_id: int, lo: datetime, hi: datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(ErrorLogRow).where(
        ErrorLogRow.deployment_id == deployment_id, ErrorLogRow.timestamp >= lo,
        ErrorLogRow.timestamp <= hi)).scalar_one())


def api_counts(conn: Connection, deployment_id: int, lo: datetime, hi: datetime
               ) -> tuple[int, int]:
    """Exchange requests and failed requests in ``[lo, hi]`` (from the metric snapshots:
    the newest total minus the last total before ``lo``)."""
    def total(where: object) -> tuple[int, int]:
        row = conn.execute(select(ExchangeMetricsRow.requests, ExchangeMetricsRow.errors)
                           .where(ExchangeMetricsRow.deployment_id == deployment_id,
                                  where)  # type: ignore[arg-type]
                           .order_by(ExchangeMetricsRow.timestamp.desc()).limit(1)).first()
        return (int(row[0]), int(row[1])) if row is not None else (0, 0)

    end = total(ExchangeMetricsRow.timestamp <= hi)
    start = total(ExchangeMetricsRow.timestamp < lo)
    return end[0] - start[0], end[1] - start[1]


def transition_counts(conn: Connection, deployment_id: int, lo: datetime, hi: datetime
                      ) -> dict[str, int]:
    """Mode transitions per symbol."""
    rows = conn.execute(
        select(LearningStateRow.symbol, func.count())
        .where(LearningStateRow.deployment_id == deployment_id,
               LearningStateRow.timestamp >= lo, LearningStateRow.timestamp <= hi)
        .group_by(LearningStateRow.symbol)).all()
    return {str(k): int(v) for k, v in rows}


def measure(engine: Engine, deployment_id: int, start_ms: int, end_ms: int, *,
            initial_equity: float, snapshot_ms: int) -> DeploymentMetrics:
    """What deployment ``deployment_id`` did in ``[start, end]``."""
    lo, hi = ts(start_ms), ts(end_ms)
    with engine.connect() as conn:
        n, wins, pnl = trade_totals(conn, deployment_id, lo, hi)
        errors = error_count(conn, deployment_id, lo, hi)
        transitions = transition_counts(conn, deployment_id, lo, hi)
        before = conn.execute(
            select(EquityHistoryRow.equity, EquityHistoryRow.events)
            .where(EquityHistoryRow.deployment_id == deployment_id,
                   EquityHistoryRow.timestamp < lo)
            .order_by(EquityHistoryRow.timestamp.desc()).limit(1)).first()
        rows = conn.execute(
            select(EquityHistoryRow.timestamp, EquityHistoryRow.equity, EquityHistoryRow.events)
            .where(EquityHistoryRow.deployment_id == deployment_id,
                   EquityHistoryRow.timestamp >= lo, EquityHistoryRow.timestamp <= hi)
            .order_by(EquityHistoryRow.timestamp)).all()
    first_equity = float(before[0]) if before else initial_equity
    events_before = int(before[1]) if before else 0
    equity = np.array([r[1] for r in rows], dtype=float)
    times = [ms_of(r[0]) for r in rows]
    return DeploymentMetrics(
        hours=(end_ms - start_ms) / HOUR_MS, trades=n, wins=wins, pnl=pnl,
        initial_equity=first_equity,
        final_equity=float(equity[-1]) if len(equity) else first_equity,
        max_drawdown=max_drawdown_percent(equity, first_equity),
        errors=errors, events=(int(rows[-1][2]) - events_before) if rows else 0,
        transitions=transitions,
        uptime=uptime_share(times, start_ms, end_ms, snapshot_ms))



@dataclass(frozen=True)
class CalibrationWatch:
    """What the ``calibration`` health check scores: the gates of ``symbols`` over the last
    ``window_hours``, judged from ``min_samples`` known outcomes on."""

    spec: CalibrationSpec
    symbols: list[str]
    window_hours: float
    min_samples: int


def oldest_model(engine: Engine, deployment_id: int | None) -> tuple[str, float] | None:
    """The oldest model of the deployment's session (series, age in hours), None when the
    session wrote none."""
    ages = RuntimeState(engine).model_ages(deployment_id)
    return None if ages is None else (ages["oldest"], float(ages["series"][ages["oldest"]]))


class HealthRecords:
    """The health checks' view of the store (the HealthData port)."""

    def __init__(self, engine: Engine, calibration: CalibrationWatch | None = None) -> None:
        self.engine = engine
        self.calibration = calibration

    def counts(self, deployment_id: int, start_ms: int, since_ms: int, now_ms: int
               ) -> WindowCounts:
        lo, since, hi = ts(start_ms), ts(since_ms), ts(now_ms)
        with self.engine.connect() as conn:
            n, wins, pnl = trade_totals(conn, deployment_id, lo, hi)
            errors = error_count(conn, deployment_id, since, hi)
            transitions = transition_counts(conn, deployment_id, since, hi)
            requests, failed = api_counts(conn, deployment_id, since, hi)
        worst = None
        if self.calibration is not None:
            c = self.calibration
            window_start = max(start_ms, now_ms - int(c.window_hours * HOUR_MS))
            found = live_calibration(self.engine, c.spec, c.symbols, ts(window_start), hi,
                                     deployment_id).worst_gate(c.min_samples)
            if found is not None:
                worst = (found[0], found[1].ece, found[1].samples)
        return WindowCounts(n, wins, pnl, errors, transitions, requests, failed, worst,
                            oldest_model(self.engine, deployment_id))

    def snapshots_after(self, deployment_id: int, last_id: int
                        ) -> list[tuple[int, int, float, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(EquityHistoryRow.id, EquityHistoryRow.timestamp,
                       EquityHistoryRow.equity, EquityHistoryRow.events)
                .where(EquityHistoryRow.deployment_id == deployment_id,
                       EquityHistoryRow.id > last_id)
                .order_by(EquityHistoryRow.id)).all()
        return [(int(i), ms_of(t), float(e), int(n)) for i, t, e, n in rows]

    def record_checks(self, deployment_id: int, now_ms: int, health: Health) -> None:
        rows = [{"timestamp": ts(now_ms), "deployment_id": deployment_id,
                 "check_name": c.name, "passed": c.passed, "value": c.value,
                 "threshold": c.threshold,
                 "severity": "info" if c.passed else
                 ("critical" if c.name == "max_drawdown" else "warning"),
                 "message": c.line(), "health_score": health.score} for c in health.checks]
        with self.engine.begin() as conn:
            conn.execute(insert(HealthCheckRow), rows)
        Deployments(self.engine).update(deployment_id, health_score=health.score)
