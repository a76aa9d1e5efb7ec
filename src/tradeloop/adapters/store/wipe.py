"""Wipe Data (seed 000): clear the trading state for a fresh start.

Cleared: positions, orders, trades, predictions, confidence history, mode changes, retraining
records, drift checks, equity snapshots, the instances' transfers, operator pauses and the
live graduation pipeline's strategy records (instances, transitions, allocations; a
rehearsal's are research and stay).
Kept: candles (and their read cache), the models and their registry history, deployments
with their verdicts, health checks, alerts, the error log and the control commands (the
audit trail, including the wipe itself). One transaction: either everything listed is
cleared or nothing is.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, select

from tradeloop.adapters.store.graduation_records import LIVE
from tradeloop.adapters.store.graduation_records import TABLES as GRADUATION
from tradeloop.adapters.store.runtime_state import PAUSED
from tradeloop.adapters.store.schema import (
    ConfidenceHistoryRow,
    DriftCheckRow,
    EquityHistoryRow,
    InstanceTransferRow,
    LearningStateRow,
    OrderRow,
    PositionRow,
    PredictionRow,
    RetrainingHistoryRow,
    RuntimeStateRow,
    TradeOutcomeRow,
)

WIPED = (PositionRow, OrderRow, TradeOutcomeRow, PredictionRow, ConfidenceHistoryRow,
         LearningStateRow, RetrainingHistoryRow, DriftCheckRow, EquityHistoryRow,
         InstanceTransferRow)


def wipe_trading_state(engine: Engine) -> dict[str, int]:
    """Delete the trading state; returns the rows removed per table."""
    removed: dict[str, int] = {}
    with engine.begin() as conn:
        for table in WIPED:
            name = table.__tablename__
            removed[name] = int(conn.execute(select(func.count()).select_from(table)
                                             ).scalar_one())
            conn.execute(delete(table))
        for records in GRADUATION:
            live = records.pipeline == LIVE
            removed[records.__tablename__] = int(conn.execute(
                select(func.count()).select_from(records).where(live)).scalar_one())
            conn.execute(delete(records).where(live))
        conn.execute(delete(RuntimeStateRow).where(RuntimeStateRow.key == PAUSED))
    return removed


def summary(removed: dict[str, int]) -> str:
    total = sum(removed.values())
    parts = ", ".join(f"{n} {t}" for t, n in removed.items() if n)
    return f"wiped {total} rows ({parts or 'nothing stored yet'}); candles and models kept"
