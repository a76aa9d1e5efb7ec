"""What the production monitor and its reports show, read from the database only (so it
works from any terminal while a deployment runs in another).

The window ends now while a deployment runs, else at the end of the chosen deployment, so a
replayed deployment reports on its own (simulated) time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session as OrmSession

from tradeloop.adapters.store.calibration_queries import CalibrationSpec, live_calibration
from tradeloop.adapters.store.deployment_metrics import api_counts, measure
from tradeloop.adapters.store.news_store import NewsStore
from tradeloop.adapters.store.runtime_state import RuntimeState
from tradeloop.adapters.store.schema import (
    AlertRow,
    ConfidenceHistoryRow,
    DeploymentRow,
    ExchangeMetricsRow,
    HealthCheckRow,
    LearningStateRow,
    ParityReportRow,
    RetrainingHistoryRow,
    TradeOutcomeRow,
)
from tradeloop.domain.deployment_metrics import initial_equity
from tradeloop.domain.news import fresh
from tradeloop.domain.timestamps import ms_of, ts
from tradeloop.domain.trading import MAIN_INSTANCE
from tradeloop.settings import Settings

HOUR = timedelta(hours=1)


def _naive(dt: datetime) -> datetime:
    return dt.replace(tzinfo=None)



@dataclass
class View:
    """One picture of a deployment: the monitor renders it, the report writes it."""

    deployment: DeploymentRow | None
    running: bool
    now: datetime          # the reference time (UTC, naive)
    since: datetime        # start of the reported window
    data: dict[str, Any]


def pick_deployment(engine: Engine, deployment_id: int | None = None) -> DeploymentRow | None:
    """The running deployment, else the latest one that traded (phase 2 rows are verdicts)."""
    with OrmSession(engine) as orm:
        q = select(DeploymentRow).order_by(DeploymentRow.id.desc())
        if deployment_id is not None:
            return orm.execute(q.where(DeploymentRow.id == deployment_id)).scalar_one_or_none()
        running = orm.execute(q.where(DeploymentRow.status == "running").limit(1)
                              ).scalar_one_or_none()
        return running or orm.execute(q.where(DeploymentRow.phase != 2).limit(1)
                                      ).scalar_one_or_none()


def exchange_view(conn: Any, deployment_id: int, since: datetime, now: datetime
                  ) -> dict[str, Any] | None:
    """The newest exchange metrics of a live deployment, with the API error rate of the
    last hour (None for replays: they never talk to an exchange)."""
    last = conn.execute(select(ExchangeMetricsRow).where(
        ExchangeMetricsRow.deployment_id == deployment_id, ExchangeMetricsRow.timestamp <= now)
        .order_by(ExchangeMetricsRow.timestamp.desc()).limit(1)).first()
    if last is None:
        return None
    requests, errors = api_counts(conn, deployment_id, max(since, now - HOUR), now)
    return {"requests": last.requests, "errors": last.errors, "retries": last.retries,
            "api_error_rate_1h": errors / requests if requests else 0.0,
            "requests_per_minute": last.requests_last_minute,
            "max_requests_per_minute": last.max_requests_per_minute,
            "limit_per_minute": last.limit_per_minute,
            "cache_hit_rate": last.cache_hit_rate, "websocket_uptime": last.ws_uptime,
            "circuit": last.circuit_state, "at": str(last.timestamp)}


def parity_view(conn: Any, deployment_id: int | None) -> dict[str, Any] | None:
    """The latest ``tradeloop parity`` result: of this deployment, else of any."""
    q = select(ParityReportRow).order_by(ParityReportRow.id.desc()).limit(1)
    row = None
    if deployment_id is not None:
        row = conn.execute(q.where(ParityReportRow.deployment_id == deployment_id)).first()
    row = row or conn.execute(q).first()
    if row is None:
        return None
    r = row[0]
    return {"deployment_id": r.deployment_id, "checked_at": str(r.created_at),
            "identical": bool(r.identical), "predictions": r.predictions,
            "predictions_matched": r.predictions_matched, "orders": r.orders,
            "orders_matched": r.orders_matched, "first_divergence": r.first_divergence,
            "report": r.report_path}


def model_age_view(engine: Engine, deployment_id: int | None) -> dict[str, Any] | None:
    """The session's model ages (written by the running engine) and their budget."""
    ages = RuntimeState(engine).model_ages(deployment_id)
    if ages is None:
        return None
    series, oldest = ages["series"], ages["oldest"]
    budget = ages.get("budget_hours")
    return {"as_of": str(ts(int(ages["as_of_ms"]))), "budget_hours": budget,
            "oldest": {"series": oldest, "hours": series[oldest]},
            "over_budget": sorted(k for k, h in series.items() if budget and h > budget),
            "series": series}


def news_summary(engine: Engine, settings: Settings, symbols: list[str], now: datetime
                 ) -> dict[str, Any] | None:
    """Per symbol: the headlines scored by the configured sentiment model that became
    available in the feature window before ``now`` (what the models read), their mean score
    and the newest one (None: news not in use)."""
    n = settings.news
    if not (n.configured or settings.model.features.sentiment):
        return None
    store, model, now_ms = NewsStore(engine), n.sentiment.model, ms_of(now)
    since_ms = now_ms - int(n.features.window_hours * 3_600_000)
    out: dict[str, Any] = {}
    for s in symbols:
        count, mean = store.window(s, model, since_ms, now_ms)
        newest = store.newest(s, model, now_ms)
        out[s] = {"items": count, "mean": mean,
                  "newest": str(ts(newest)) if newest is not None else None,
                  "fresh": fresh(newest, now_ms, n.fresh_hours)}
    return {"model": n.sentiment.model, "features_on": settings.model.features.sentiment,
            "window_hours": n.features.window_hours, "symbols": out}


def collect(settings: Settings, engine: Engine, *, hours: float = 24.0,
            symbols: list[str] | None = None, deployment_id: int | None = None,
            running: bool | None = None, recent: int = 5) -> View:
    """Everything the monitor shows, over the last ``hours``."""
    dep = pick_deployment(engine, deployment_id)
    live = running if running is not None else (dep is not None and dep.status == "running")
    wall = _naive(datetime.now(UTC))
    now = wall if live or dep is None or dep.ended_at is None else dep.ended_at
    since = now - timedelta(hours=hours)
    if dep is not None:
        since = max(since, dep.started_at)
    syms = symbols or (dep.symbols.split(",") if dep else list(settings.symbols))
    did = dep.id if dep else None
    initial = initial_equity(dep.notes if dep else None, settings.trading.initial_balance)
    with engine.connect() as conn:
        def rows(stmt: Any) -> list[Any]:
            return list(conn.execute(stmt).all())

        trade_q = select(TradeOutcomeRow).where(TradeOutcomeRow.exit_time >= since,
                                                TradeOutcomeRow.exit_time <= now,
                                                TradeOutcomeRow.instance == MAIN_INSTANCE)
        retrain_q = select(RetrainingHistoryRow).where(
            RetrainingHistoryRow.triggered_at >= since, RetrainingHistoryRow.triggered_at <= now)
        state_q = select(LearningStateRow).where(LearningStateRow.timestamp <= now)
        alert_q = select(AlertRow).where(AlertRow.timestamp >= since, AlertRow.timestamp <= now)
        if did is not None:
            trade_q = trade_q.where(TradeOutcomeRow.deployment_id == did)
            state_q = state_q.where(LearningStateRow.deployment_id == did)
            alert_q = alert_q.where(AlertRow.deployment_id == did)
        trades = rows(trade_q.where(TradeOutcomeRow.symbol.in_(syms))
                      .order_by(TradeOutcomeRow.exit_time))
        retrains = rows(retrain_q.where(RetrainingHistoryRow.symbol.in_(syms))
                        .order_by(RetrainingHistoryRow.triggered_at))
        states = rows(state_q.where(LearningStateRow.symbol.in_(syms))
                      .order_by(LearningStateRow.timestamp))
        alerts = rows(alert_q.order_by(AlertRow.timestamp))
        confidence: dict[str, tuple[datetime, float, str]] = {}
        for s in syms:
            last = conn.execute(select(ConfidenceHistoryRow.timestamp,
                                       ConfidenceHistoryRow.confidence_score,
                                       ConfidenceHistoryRow.direction)
                                .where(ConfidenceHistoryRow.symbol == s,
                                       ConfidenceHistoryRow.timestamp <= now)
                                .order_by(ConfidenceHistoryRow.timestamp.desc()).limit(1)).first()
            if last is not None and last[0] >= (dep.started_at if dep else since):
                confidence[s] = (last[0], float(last[1]), str(last[2]))
        health = rows(select(HealthCheckRow).where(HealthCheckRow.deployment_id == did)
                      .order_by(HealthCheckRow.id.desc()).limit(5)) if did else []
        exchange = exchange_view(conn, did, since, now) if did else None
        parity = parity_view(conn, did)
        n_health = conn.execute(select(func.count(func.distinct(HealthCheckRow.timestamp)))
                                .where(HealthCheckRow.deployment_id == did)).scalar_one() \
            if did else 0
    metrics = None
    if dep is not None:
        snapshot_ms = int(settings.deployment.snapshot_seconds * 1000)
        metrics = measure(engine, dep.id, ms_of(since), ms_of(now), initial_equity=initial,
                          snapshot_ms=snapshot_ms)
        last_hour = measure(engine, dep.id, ms_of(max(since, now - HOUR)), ms_of(now),
                            initial_equity=initial, snapshot_ms=snapshot_ms)
    h = settings.deployment.health
    cal_since = max(since, now - timedelta(hours=h.calibration_window_hours))
    calibration = {
        **live_calibration(engine, CalibrationSpec.of(settings), syms, cal_since, now,
                           did).as_dict(),
        "window": {"from": str(cal_since), "to": str(now)}, "horizon": settings.model.horizon,
        "max_gap": h.max_calibration_gap, "min_samples": h.min_calibration_samples}
    sym_data: dict[str, Any] = {}
    for s in syms:
        t = [r for r in trades if r.symbol == s]
        st = [r for r in states if r.symbol == s]
        wins = sum(r.outcome == "win" for r in t)
        pnl = sum(r.pnl_absolute for r in t)
        mode_since = st[-1].timestamp if st else (dep.started_at if dep else since)
        conf = confidence.get(s)
        activity = sorted(
            [(r.exit_time, f"Trade: {r.side.upper() if r.side != 'long' else 'BUY'} "
              f"{'✓ WIN' if r.outcome == 'win' else '✗ LOSS'} (${r.pnl_absolute:,.2f})")
             for r in t]
            + [(r.triggered_at, f"Retrain: {'✓' if r.status == 'done' else '✗'} "
                f"{r.trigger_reason}"
                + (f" → {100 * r.validation_confidence:.2f}%"
                   if r.validation_confidence is not None else "")
                + (" (promoted)" if r.promoted else ""))
               for r in retrains if r.symbol == s]
            + [(r.timestamp, f"Mode: {r.previous_mode} → {r.mode} ({r.reason})")
               for r in st if r.timestamp >= since],
            key=lambda a: a[0], reverse=True)[:recent]
        sym_data[s] = {
            "mode": st[-1].mode if st else "LEARNING",
            "confidence": conf[1] if conf else None,
            "direction": conf[2] if conf else None,
            "time_in_mode_seconds": max(0.0, (now - mode_since).total_seconds()),
            "trades": len(t), "wins": wins, "losses": len(t) - wins,
            "win_rate": wins / len(t) if t else None,
            "pnl": pnl, "pnl_percent": 100 * pnl / initial,
            "transitions": sum(1 for r in st if r.timestamp >= since),
            "retrains": sum(1 for r in retrains if r.symbol == s),
            "recent_activity": [{"time": str(a[0]), "event": a[1]} for a in activity],
        }
    by_reason = Counter(r.trigger_reason for r in retrains)
    confs = [r.validation_confidence for r in retrains if r.validation_confidence is not None]
    data: dict[str, Any] = {
        "generated_at": wall.isoformat(timespec="seconds") + "Z",
        "window": {"from": str(since), "to": str(now), "hours": hours},
        "system": {
            "deployment_id": did, "phase": dep.phase if dep else None,
            "mode": dep.mode if dep else None, "status": dep.status if dep else None,
            "running": live,
            "uptime_seconds": (now - dep.started_at).total_seconds() if dep else 0.0,
            "active_symbols": len(syms) if live else 0, "symbols": syms,
            "error_rate_1h": last_hour.error_rate if metrics else None,
            "errors": metrics.errors if metrics else 0,
            "candle_closes": metrics.events if metrics else 0,
            "equity": metrics.final_equity if metrics else None,
            "max_drawdown_percent": metrics.max_drawdown if metrics else None,
            "uptime_share": metrics.uptime if metrics else None,
            "health_score": dep.health_score if dep else None,
            "verdict": dep.verdict if dep else None,
        },
        "exchange": exchange,
        "parity": parity,
        "calibration": calibration,
        "sentiment": news_summary(engine, settings, syms, now),
        "model_age": model_age_view(engine, did),
        "symbols": sym_data,
        "trades": [{"symbol": r.symbol, "entry_time": str(r.entry_time),
                    "exit_time": str(r.exit_time), "side": r.side,
                    "entry_price": r.entry_price, "exit_price": r.exit_price,
                    "quantity": r.quantity, "pnl": r.pnl_absolute,
                    "pnl_percent": r.pnl_percent, "outcome": r.outcome,
                    "exit_reason": r.exit_reason, "confidence": r.confidence}
                   for r in trades],
        "retraining": {"count": len(retrains), "by_reason": dict(by_reason),
                       "average_validation_confidence":
                           sum(confs) / len(confs) if confs else None,
                       "promoted": sum(1 for r in retrains if r.promoted),
                       "failed": sum(1 for r in retrains if r.status == "failed"),
                       "runs": [{"symbol": r.symbol, "timeframe": r.timeframe,
                                 "trigger": r.trigger_reason, "triggered_at": str(r.triggered_at),
                                 "status": r.status, "validation_confidence":
                                     r.validation_confidence, "promoted": r.promoted,
                                 "duration_seconds": r.duration_seconds,
                                 "promotion_effect": r.promotion_effect,
                                 "promotion_ci": [r.promotion_ci_low, r.promotion_ci_high],
                                 "promotion_p_value": r.promotion_p_value,
                                 "promotion_samples": r.promotion_samples}
                                for r in retrains]},
        "health": {"rounds": n_health, "score": dep.health_score if dep else None,
                   "latest": [{"check": h.check_name, "passed": h.passed, "value": h.value,
                               "threshold": h.threshold, "time": str(h.timestamp)}
                              for h in health]},
        "alerts": [{"timestamp": str(a.timestamp), "severity": a.severity, "symbol": a.symbol,
                    "message": a.message, "channels": a.channels} for a in alerts],
    }
    return View(dep, live, now, since, data)
