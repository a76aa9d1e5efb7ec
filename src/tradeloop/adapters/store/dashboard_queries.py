"""The operator dashboard's queries: everything it shows, read from the database only (so it
works from another process while a deployment writes). Frames are pandas, times naive UTC.

The monitor's ``collect`` gives the overview; the series here feed the charts and tables.
Long series are thinned to at most ``max_points`` rows so a month of minute snapshots still
draws at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session as OrmSession

from tradeloop.adapters.store.monitor_queries import View, collect
from tradeloop.adapters.store.runtime_state import RuntimeState
from tradeloop.adapters.store.schema import (
    AlertRow,
    ConfidenceHistoryRow,
    ControlCommandRow,
    DeploymentRow,
    DriftCheckRow,
    EquityHistoryRow,
    ErrorLogRow,
    LatestPriceRow,
    LearningStateRow,
    OrderRow,
    PredictionRow,
    RetrainingHistoryRow,
    TradeOutcomeRow,
)
from tradeloop.domain.timeframes import Timeframe
from tradeloop.domain.timestamps import ts
from tradeloop.domain.trading import MAIN_INSTANCE
from tradeloop.settings import Settings

MAX_POINTS = 1500


def thin(frame: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Every k-th row (plus the last) so at most ``max_points`` remain."""
    if len(frame) <= max_points:
        return frame
    step = -(-len(frame) // max_points)
    picked = frame.iloc[::step]
    if picked.index[-1] != frame.index[-1]:
        picked = pd.concat([picked, frame.iloc[[-1]]])
    return picked


def _frame(engine: Engine, stmt: Any, columns: list[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


@dataclass
class Board:
    """What one page of the dashboard shows: the monitor's view plus operator state."""

    view: View
    strategy: str
    paused: set[str]
    deployments: list[tuple[int, str]]

    @property
    def deployment_id(self) -> int | None:
        return self.view.deployment.id if self.view.deployment else None

    @property
    def empty(self) -> bool:
        return self.view.deployment is None


def board(settings: Settings, engine: Engine, *, hours: float = 24.0,
          deployment_id: int | None = None) -> Board:
    view = collect(settings, engine, hours=hours, deployment_id=deployment_id, recent=10)
    state = RuntimeState(engine)
    return Board(view, state.strategy(settings.trading.strategy), state.paused(),
                 deployments(engine))


def deployments(engine: Engine, limit: int = 50) -> list[tuple[int, str]]:
    """(id, label) of the latest deployments, newest first."""
    with OrmSession(engine) as orm:
        rows = orm.execute(select(DeploymentRow).order_by(DeploymentRow.id.desc())
                           .limit(limit)).scalars().all()
    return [(r.id, f"#{r.id} · phase {r.phase} · {r.mode} · {r.status}"
             + (f" · {r.verdict}" if r.verdict else "")
             + f" · {r.started_at:%Y-%m-%d %H:%M}") for r in rows]


def confidence(engine: Engine, symbol: str, since: datetime, now: datetime,
               max_points: int = MAX_POINTS) -> pd.DataFrame:
    c = ConfidenceHistoryRow
    return thin(_frame(engine, select(c.timestamp, c.confidence_score, c.direction, c.mode,
                                      c.threshold)
                       .where(c.symbol == symbol, c.timestamp >= since, c.timestamp <= now)
                       .order_by(c.timestamp),
                       ["time", "confidence", "direction", "mode", "threshold"]), max_points)


def modes(engine: Engine, symbol: str, deployment_id: int | None, now: datetime
          ) -> pd.DataFrame:
    s = LearningStateRow
    stmt = select(s.timestamp, s.previous_mode, s.mode, s.reason, s.confidence).where(
        s.symbol == symbol, s.timestamp <= now)
    if deployment_id is not None:
        stmt = stmt.where(s.deployment_id == deployment_id)
    return _frame(engine, stmt.order_by(s.timestamp),
                  ["time", "from", "to", "reason", "confidence"])


def timeframe_signals(settings: Settings, engine: Engine, symbol: str, now: datetime
                      ) -> pd.DataFrame:
    """The latest forecast of each configured timeframe: direction, confidence, age."""
    p = PredictionRow
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for tf in settings.timeframes.names:
            row = conn.execute(select(p.timestamp, p.candle_time, p.direction, p.confidence,
                                      p.model_version)
                               .where(p.symbol == symbol, p.timeframe == tf,
                                      p.timestamp <= now)
                               .order_by(p.candle_time.desc()).limit(1)).first()
            if row is None:
                out.append({"timeframe": tf, "direction": "—", "confidence": None,
                            "age": "no forecast yet", "model": None, "stale": True})
                continue
            tf_ms = Timeframe.parse(tf).ms
            closed = ts(row[1] + tf_ms)
            age = max(timedelta(0), now - closed)
            out.append({"timeframe": tf, "direction": row[2], "confidence": float(row[3]),
                        "age": _age(age), "model": f"v{row[4]}" if row[4] else None,
                        "stale": age.total_seconds() * 1000 > 2 * tf_ms})
    return pd.DataFrame(out)


def _age(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172_800:
        return f"{s // 3600} h"
    return f"{s // 86_400} d"


def equity(engine: Engine, deployment_id: int, since: datetime, now: datetime,
           max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Account equity and drawdown (from the running peak since the deployment started) in
    the window, at most ``max_points`` rows: per bucket of snapshots the deepest one, so the
    chart never hides a drawdown. Only ids and floats are read for the whole deployment;
    timestamps only for the rows drawn."""
    e = EquityHistoryRow
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(e.id), func.max(e.id)).where(
            e.deployment_id == deployment_id, e.timestamp >= since, e.timestamp <= now)).one()
        if first is None:
            return pd.DataFrame(columns=["time", "equity", "drawdown_percent"])
        # the bulk read through the DB-API cursor: ~3x faster than result rows (ints only)
        cursor = conn.connection.cursor()
        cursor.execute(f"SELECT id, equity FROM equity_history WHERE deployment_id = "  # noqa: S608 - ints
                       f"{int(deployment_id)} AND id <= {int(last)} ORDER BY id")
        raw = cursor.fetchall()
        cursor.close()
        ids = np.fromiter((r[0] for r in raw), dtype=np.int64, count=len(raw))
        values = np.fromiter((r[1] for r in raw), dtype=float, count=len(raw))
        drawdown = 100 * (1 - values / np.maximum.accumulate(values))
        start = int(np.searchsorted(ids, first))
        ids, values, drawdown = ids[start:], values[start:], drawdown[start:]
        if len(ids) > max_points:
            step = -(-len(ids) // max_points)
            pad = (-len(ids)) % step
            deep = np.concatenate([drawdown, np.full(pad, -1.0)]).reshape(-1, step)
            keep = np.arange(0, len(ids) + pad, step) + deep.argmax(axis=1)
            keep = np.unique(np.append(keep[keep < len(ids)], len(ids) - 1))
            ids, values, drawdown = ids[keep], values[keep], drawdown[keep]
        times = dict(conn.execute(select(e.id, e.timestamp).where(
            e.id.in_([int(i) for i in ids]))).all())
    return pd.DataFrame({"time": [times[int(i)] for i in ids], "equity": values,
                         "drawdown_percent": drawdown})


def latest_prices(engine: Engine) -> list[tuple[str, float, datetime, datetime]]:
    """(symbol, price, its time, written at) of the running session's latest prices."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            select(LatestPriceRow.symbol, LatestPriceRow.price, LatestPriceRow.time,
                   LatestPriceRow.updated_at).order_by(LatestPriceRow.symbol)).all()]


def trades(engine: Engine, deployment_id: int | None, since: datetime, now: datetime,
           symbol: str | None = None) -> pd.DataFrame:
    t = TradeOutcomeRow
    stmt = select(t.symbol, t.entry_time, t.exit_time, t.side, t.entry_price, t.exit_price,
                  t.quantity, t.fees, t.pnl_absolute, t.pnl_percent, t.outcome,
                  t.exit_reason, t.confidence, t.model_version).where(
        t.exit_time >= since, t.exit_time <= now, t.instance == MAIN_INSTANCE)
    if deployment_id is not None:
        stmt = stmt.where(t.deployment_id == deployment_id)
    if symbol is not None:
        stmt = stmt.where(t.symbol == symbol)
    return _frame(engine, stmt.order_by(t.exit_time),
                  ["symbol", "entry_time", "exit_time", "side", "entry_price", "exit_price",
                   "quantity", "fees", "pnl", "pnl_percent", "outcome", "exit_reason",
                   "confidence", "model_version"])


def pnl_curve(closed: pd.DataFrame) -> pd.DataFrame:
    """Cumulative closed-trade P&L and its drawdown from the running peak."""
    if closed.empty:
        return pd.DataFrame(columns=["time", "pnl", "drawdown"])
    cum = closed["pnl"].cumsum()
    return pd.DataFrame({"time": closed["exit_time"], "pnl": cum,
                         "drawdown": cum.cummax().clip(lower=0) - cum})


def retraining(engine: Engine, since: datetime, now: datetime, symbol: str | None = None
               ) -> pd.DataFrame:
    r = RetrainingHistoryRow
    stmt = select(r.symbol, r.timeframe, r.trigger_reason, r.triggered_at, r.duration_seconds,
                  r.status, r.validation_confidence, r.validation_accuracy, r.promoted,
                  r.model_version, r.mlflow_run_id, r.notes).where(
        r.triggered_at >= since, r.triggered_at <= now)
    if symbol is not None:
        stmt = stmt.where(r.symbol == symbol)
    return _frame(engine, stmt.order_by(r.triggered_at.desc()),
                  ["symbol", "timeframe", "reason", "triggered_at", "duration_seconds",
                   "status", "validation_confidence", "validation_accuracy", "promoted",
                   "version", "mlflow_run_id", "notes"])


def drift(engine: Engine, symbol: str, since: datetime, now: datetime) -> pd.DataFrame:
    d = DriftCheckRow
    return _frame(engine, select(d.timestamp, d.timeframe, d.feature_drift, d.threshold,
                                 d.error_drift, d.triggered)
                  .where(d.symbol == symbol, d.timestamp >= since, d.timestamp <= now)
                  .order_by(d.timestamp),
                  ["time", "timeframe", "feature_drift", "threshold", "error_drift",
                   "triggered"])


def models(settings: Settings, engine: Engine, deployment: DeploymentRow | None, symbol: str,
           now: datetime) -> pd.DataFrame:
    """Per timeframe: the champion in service (the one recorded at the deployment's start,
    or the latest challenger promoted since) and the latest challenger not promoted."""
    start: dict[str, Any] = {}
    since = datetime.min
    if deployment is not None:
        since = deployment.started_at
        try:
            start = json.loads(deployment.notes or "{}").get("models_at_start", {})
        except ValueError:
            start = {}
    r = RetrainingHistoryRow
    out = []
    with engine.connect() as conn:
        for tf in settings.timeframes.names:
            base = select(r.model_version, r.mlflow_run_id, r.triggered_at).where(
                r.symbol == symbol, r.timeframe == tf, r.triggered_at >= since,
                r.triggered_at <= now, r.status == "done")
            promoted = conn.execute(base.where(r.promoted.is_(True))
                                    .order_by(r.triggered_at.desc()).limit(1)).first()
            challenger = conn.execute(base.where(r.promoted.is_(False))
                                      .order_by(r.triggered_at.desc()).limit(1)).first()
            first = start.get(f"{symbol} {tf}") or {}
            champ_v = promoted[0] if promoted else first.get("version")
            champ_run = promoted[1] if promoted else first.get("run_id")
            newer = challenger is not None and (promoted is None or challenger[2] > promoted[2])
            out.append({
                "timeframe": tf,
                "champion": f"v{champ_v}" if champ_v else "none",
                "champion_run_id": champ_run or "—",
                "challenger": f"v{challenger[0]}" if newer and challenger else "—",
                "challenger_run_id": (challenger[1] or "—") if newer and challenger else "—",
            })
    return pd.DataFrame(out)


def activity(engine: Engine, deployment: DeploymentRow | None, since: datetime,
             now: datetime, *, symbol: str | None = None, limit: int = 200) -> pd.DataFrame:
    """Signals, refusals, mode changes, retrains, errors, alerts and operator commands,
    newest first (another strategy instance's orders name it)."""
    did = deployment.id if deployment is not None else None
    o, s, r, e, a, c = (OrderRow, LearningStateRow, RetrainingHistoryRow, ErrorLogRow,
                        AlertRow, ControlCommandRow)
    parts = [
        select(o.created_at.label("time"), o.symbol.label("symbol"), o.status.label("a"),
               o.side.label("b"),
               case((o.instance == MAIN_INSTANCE, o.reason),  # another instance's: named
                    else_=o.instance + ": " + func.coalesce(o.reason, "")).label("c"),
               o.quantity.label("n"))
        .where(o.created_at >= since, o.created_at <= now)
        .where(o.deployment_id == did if did is not None else o.id.is_not(None)),
        select(s.timestamp, s.symbol, s.mode, s.previous_mode, s.reason, s.confidence)
        .where(s.timestamp >= since, s.timestamp <= now)
        .where(s.deployment_id == did if did is not None else s.id.is_not(None)),
        select(r.triggered_at, r.symbol, r.status, r.trigger_reason,
               func.coalesce(r.notes, r.error), r.validation_confidence)
        .where(r.triggered_at >= since, r.triggered_at <= now),
        select(e.timestamp, e.symbol, e.error_type, e.component, e.message, e.id)
        .where(e.timestamp >= since, e.timestamp <= now),
        select(a.timestamp, a.symbol, a.severity, a.channels, a.message, a.id)
        .where(a.timestamp >= since, a.timestamp <= now),
        select(c.created_at, c.symbol, c.command, c.status, func.coalesce(c.result, c.argument),
               c.id).where(c.created_at >= since),
    ]
    kinds = ["order", "mode", "retrain", "error", "alert", "command"]
    frames: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for kind, stmt in zip(kinds, parts, strict=True):
            if symbol is not None and kind != "command":
                stmt = stmt.where(stmt.selected_columns[1] == symbol)
            rows = conn.execute(stmt.order_by(stmt.selected_columns[0].desc()).limit(limit)
                                ).all()
            frames.extend(_event(kind, *row) for row in rows)
    frames.sort(key=lambda ev: ev["time"], reverse=True)
    return pd.DataFrame(frames[:limit], columns=["time", "kind", "symbol", "event"])


def _event(kind: str, time: datetime, symbol: str | None, a: Any, b: Any, c: Any, n: Any
           ) -> dict[str, Any]:
    if kind == "order":
        if a == "refused":
            text = f"Refused {b.upper()}: {c}"
            kind = "refusal"
        else:
            text = f"Signal: {b.upper()} {n:.6g} ({a}) — {c}"
            kind = "signal"
    elif kind == "mode":
        conf = f" at {100 * n:.1f}%" if n is not None else ""
        text = f"Mode: {b} → {a}{conf} ({c})"
    elif kind == "retrain":
        conf = f", validation confidence {100 * n:.1f}%" if n is not None else ""
        text = f"Retrain ({b}): {a}{conf}" + (f" — {c}" if c else "")
    elif kind == "error":
        text = f"Error {a} in {b or '?'}: {str(c)[:300]}"
    elif kind == "alert":
        text = f"Alert [{a}]: {c}"
    else:
        text = f"Operator {a}: {b}" + (f" — {c}" if c else "")
    return {"time": time, "kind": kind, "symbol": symbol or "", "event": text}


def commands(engine: Engine, limit: int = 20) -> pd.DataFrame:
    c = ControlCommandRow
    return _frame(engine, select(c.id, c.created_at, c.command, c.symbol, c.argument,
                                 c.requested_by, c.status, c.result)
                  .order_by(c.id.desc()).limit(limit),
                  ["id", "time", "command", "symbol", "argument", "by", "status", "result"])


def active_alerts(engine: Engine, deployment_id: int | None, since: datetime, now: datetime
                  ) -> pd.DataFrame:
    """Warning and critical alerts of the window not acknowledged."""
    a = AlertRow
    stmt = select(a.timestamp, a.severity, a.symbol, a.message).where(
        a.timestamp >= since, a.timestamp <= now, a.acknowledged.is_(False),
        a.severity.in_(("warning", "critical")))
    if deployment_id is not None:
        stmt = stmt.where(a.deployment_id == deployment_id)
    return _frame(engine, stmt.order_by(a.timestamp.desc()).limit(50),
                  ["time", "severity", "symbol", "message"])


def export_trades(frame: pd.DataFrame, fmt: str) -> bytes:
    """Trades as CSV or JSON (records, ISO times)."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    return frame.to_json(orient="records", date_format="iso", indent=1).encode()


def export_report(view: View) -> bytes:
    return json.dumps(view.data, indent=2, default=str).encode()

