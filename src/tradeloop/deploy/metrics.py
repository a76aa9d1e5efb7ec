"""Measure a deployment from the database: the same numbers for the running health checks,
the end-of-phase validation and the phase 2 re-validation (DESIGN 4)."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, Engine, case, func, select

from tradeloop.adapters.store.schema import (
    EquityHistoryRow,
    ErrorLogRow,
    ExchangeMetricsRow,
    LearningStateRow,
    TradeOutcomeRow,
)
from tradeloop.adapters.store.trading_store import ms_of, ts
from tradeloop.domain.health import DeploymentMetrics, max_drawdown_percent, uptime_share

HOUR_MS = 3_600_000


def trade_totals(conn: Connection, deployment_id: int, lo: datetime, hi: datetime
                 ) -> tuple[int, int, float]:
    """Closed trades, wins and P&L of a deployment with exit time in ``[lo, hi]``."""
    n, wins, pnl = conn.execute(
        select(func.count(), func.sum(case((TradeOutcomeRow.outcome == "win", 1), else_=0)),
               func.sum(TradeOutcomeRow.pnl_absolute))
        .where(TradeOutcomeRow.deployment_id == deployment_id,
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


def initial_equity(notes: str | None, default: float) -> float:
    """A deployment's equity at its start: recorded in its notes (an exchange account's is
    whatever the account held), else the configured simulated balance."""
    try:
        value = json.loads(notes).get("initial_equity") if notes else None
    except (ValueError, AttributeError):
        value = None
    return float(value) if isinstance(value, int | float) and value > 0 else default


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

