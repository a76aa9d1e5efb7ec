"""The phased rollout of seed 002: phase 1 (one symbol), phase 2 (validation), phase 3 (every
configured symbol, one by one), rollback and status. ``deploy_production.py`` is its CLI.

A phase runs as a Session, live (paper, wall clock) or on replayed history (simulated clock,
full speed). A replayed phase never touches the production champions: its models are trained
walk-forward at the start of the window on data before it, into the phase's own folder, and
they retrain at simulated time, so no model sees the history it is judged on.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session as OrmSession

from tradeloop.adapters.clock import SimClock, WallClock
from tradeloop.adapters.exchange.gateway import ExchangeGateway
from tradeloop.adapters.instance_lock import InstanceLock
from tradeloop.adapters.registry.champion_files import ChampionFiles
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.adapters.store.control_store import ControlChannel
from tradeloop.adapters.store.schema import AlertRow, DeploymentRow, HealthCheckRow
from tradeloop.adapters.store.trading_store import TradingStore, ms_of
from tradeloop.app import StoreHandle, champion_files, exchange_for, notifier_for
from tradeloop.deploy.checks import CheckResult, run_checks
from tradeloop.deploy.metrics import initial_equity, measure
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import DeploymentError
from tradeloop.domain.health import DeploymentMetrics, Validation, ValidationThresholds, validate
from tradeloop.domain.timeframes import Timeframe
from tradeloop.engine.learning import RetrainJob, retraining_row
from tradeloop.engine.worker import ProcessRunner
from tradeloop.session import BrokerFactory, FeedFactory, Session, SessionResult, replay_feed
from tradeloop.settings import Settings

log = logging.getLogger("tradeloop.deploy")
RULE = "=" * 80
HOUR_MS = 3_600_000
Say = Callable[[str], None]


@dataclass(frozen=True)
class ReplayWindow:
    start_ms: int
    end_ms: int


@dataclass
class PhaseOutcome:
    deployment_id: int
    session: SessionResult | None
    validation: Validation
    metrics: DeploymentMetrics
    report: Path


def thresholds(settings: Settings) -> ValidationThresholds:
    v = settings.deployment.validation
    return ValidationThresholds(v.min_win_rate, v.max_drawdown_percent, v.max_error_rate,
                                v.min_profit, v.max_transitions_per_hour, v.min_criteria)


def fmt_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")



# -- checks ---------------------------------------------------------------------------------
def pre_deployment_checks(settings: Settings, handle: StoreHandle, symbols: list[str],
                          replay: ReplayWindow | None, say: Say) -> bool:
    """The five checks (per symbol when there are several), printed as in the guide; True
    when all pass."""
    say("Running pre-deployment checks...")
    window = (replay.start_ms, replay.end_ms) if replay is not None else None
    results: list[CheckResult] = []
    for symbol in symbols:
        checks = run_checks(settings, handle.candles, symbol, lambda: exchange_for(settings),
                            replay=window)
        if results:  # database and config are not per symbol
            checks = [c for c in checks if c.name not in ("database", "config")]
        prefix = f"[{symbol}] " if len(symbols) > 1 else ""
        results += [CheckResult(c.name, c.passed, prefix + c.detail) for c in checks]
    for r in results:
        say(f"{'✓' if r.passed else '✗'} {r.detail}")
    passed = sum(r.passed for r in results)
    say(RULE)
    say(f"Pre-deployment checks: {passed}/{len(results)} passed")
    say(RULE)
    return passed == len(results)


def replay_window(settings: Settings, handle: StoreHandle, symbols: list[str],
                  start_ms: int | None, end_ms: int | None, duration_ms: int) -> ReplayWindow:
    """``--from``/``--to`` completed from the duration and the stored data: by default the
    last ``duration`` of history every symbol has on its finest timeframe."""
    if start_ms is not None and end_ms is not None:
        if end_ms <= start_ms:
            raise DeploymentError("--to must be after --from")
        return ReplayWindow(start_ms, end_ms)
    if start_ms is not None:
        return ReplayWindow(start_ms, start_ms + duration_ms)
    finest = min(Timeframe.parse(t) for t in settings.timeframes.names)
    lasts = []
    for s in symbols:
        last = handle.candles.last_open_time(SeriesKey(settings.exchange.name, s, finest.name))
        if last is None:
            raise DeploymentError(f"no stored {s} {finest} candles to replay; import or "
                                  f"download history first (tradeloop data ...)")
        lasts.append(last + finest.ms)
    end = end_ms if end_ms is not None else min(lasts)
    end -= end % finest.ms
    return ReplayWindow(end - duration_ms, end)


# -- phases ---------------------------------------------------------------------------------
def run_phase(settings: Settings, handle: StoreHandle, symbols: list[str], *, phase: int,
              duration_ms: int | None, replay: ReplayWindow | None, say: Say,
              stop: Callable[[], bool] | None = None,
              activate_after: dict[str, int] | None = None) -> PhaseOutcome:
    """Deploy ``symbols``, run until the duration is over (or a stop/rollback), then
    validate, store the verdict and write the report."""
    say("Initializing system components...")
    notes: dict[str, Any] = {}
    feed: FeedFactory
    broker: BrokerFactory | None = None
    gateway: ExchangeGateway | None = None
    if replay is not None:
        clock: SimClock | WallClock = SimClock(replay.start_ms)
        folder = settings.path(settings.paths.data_dir) / "deployments" / \
            f"phase{phase}-{datetime.now(UTC):%Y%m%d_%H%M%S}"
        registry = LocalRegistry(folder / "models")
        runner = ProcessRunner(settings, folder / "models", wait=True)
        _train_initial(settings, handle, symbols, runner, replay.start_ms, say)
        assert isinstance(clock, SimClock)
        feed = replay_feed(handle, clock, settings, replay.start_ms, replay.end_ms)
        notes["replay"] = {"from": fmt_ms(replay.start_ms), "to": fmt_ms(replay.end_ms),
                           "models": str(folder / "models")}
        mode, duration_ms = "replay", replay.end_ms - replay.start_ms
        model_source: Any = registry
    else:
        from tradeloop.exchange_wiring import live_parts

        clock = WallClock()
        mode = settings.live_trading.mode if settings.live_trading.mode in (
            "testnet", "live") else "paper"
        parts = live_parts(settings, handle, clock, mode)
        feed, broker, gateway = parts.feed, parts.broker, parts.gateway
        runner = ProcessRunner(settings, None, wait=False)
        model_source = champion_files(settings)
    say("✓ Components initialized")
    notifier = notifier_for(settings, handle.engine, clock)
    session = Session(settings, handle, symbols, mode=mode, clock=clock, feed=feed,
                      runner=runner, registry=model_source, notifier=notifier, phase=phase,
                      activate_after=activate_after,
                      on_activated=lambda s: say(f"✅ {s} deployed successfully"),
                      notes=notes, broker=broker, gateway=gateway)
    for s in symbols:
        if not (activate_after or {}).get(s):
            _announce(settings, s, say)
    hours = (duration_ms or 0) / HOUR_MS
    what = " and ".join(symbols) if len(symbols) <= 2 else f"{len(symbols)} symbols"
    say(f"✓ Deployment started. Monitoring {what} "
        + (f"for {hours:g} hours" if duration_ms else "until stopped (Ctrl+C)")
        + (" (replay at full speed)..." if replay else "..."))
    result: SessionResult | None = None
    try:
        result = session.run(duration_ms, stop=stop)
    except KeyboardInterrupt:
        say("Interrupted (Ctrl+C): positions closed, deployment stopped gracefully.")
    finally:
        notifier.close()
    if session.deployment_id is None:
        raise DeploymentError("the deployment did not start")
    return conclude(settings, handle, session.deployment_id, say, session=result)


def _announce(settings: Settings, symbol: str, say: Say) -> None:
    say(f"Deploying {symbol}...")
    for tf in settings.timeframes.names:
        say(f"  ✓ Subscribed to {symbol} @ {tf}")
    say(f"✅ {symbol} deployed successfully")


def _train_initial(settings: Settings, handle: StoreHandle, symbols: list[str],
                   runner: ProcessRunner, start_ms: int, say: Say) -> None:
    """Walk-forward models for a replayed phase: trained on data before the window."""
    tstore = TradingStore(handle.engine, "replay")
    failed = []
    for s in symbols:
        for tf in settings.timeframes.names:
            job = RetrainJob(s, tf, "initial", start_ms)
            res = runner.run(job)
            tstore.retraining(retraining_row(job, res, start_ms))
            if res.error:
                failed.append(f"{s} {tf}: {res.error}")
            else:
                say(f"  ✓ [{s}_{tf}] model trained on data before {fmt_ms(start_ms)} "
                    f"(validation confidence {100 * (res.validation_confidence or 0):.2f}%, "
                    f"{res.seconds:.1f}s)")
    if failed:
        runner.close()
        raise DeploymentError("walk-forward models could not be trained for the replay: "
                              + "; ".join(failed))


def conclude(settings: Settings, handle: StoreHandle, deployment_id: int, say: Say, *,
             session: SessionResult | None = None) -> PhaseOutcome:
    """Validate a finished deployment from the database, store the verdict and write the
    report (also phase 2's re-validation)."""
    with OrmSession(handle.engine, expire_on_commit=False) as orm:
        row = orm.execute(select(DeploymentRow).where(DeploymentRow.id == deployment_id)
                          ).scalar_one()
    if row.ended_at is None:
        raise DeploymentError(f"deployment {deployment_id} has not ended yet")
    start, end = ms_of(row.started_at), ms_of(row.ended_at)
    metrics = measure(handle.engine, deployment_id, start, end,
                      initial_equity=initial_equity(row.notes,
                                                    settings.trading.initial_balance),
                      snapshot_ms=int(settings.deployment.snapshot_seconds * 1000))
    validation = validate(metrics, thresholds(settings))
    phase = row.phase
    say(RULE)
    say(f"PHASE {phase} COMPLETE - VALIDATING RESULTS" if phase != 2 and session else
        f"PHASE 2: VALIDATING DEPLOYMENT {deployment_id} (phase {phase})")
    say(RULE)
    say(f"Validating Phase {phase} results...")
    say(RULE)
    say(f"PHASE {phase} VALIDATION RESULTS")
    say(RULE)
    say(f"Criteria Met: {validation.met}/{len(validation.criteria)}")
    say("")
    for c in validation.criteria:
        say(c.line())
    say("")
    say(f"Verdict: {validation.verdict}")
    say(RULE)
    report = write_report(settings, handle, row, validation, metrics)
    with handle.engine.begin() as conn:
        conn.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id).values(
            verdict=validation.verdict, criteria_met=validation.met,
            report_path=str(report)))
    if validation.verdict == "APPROVED":
        say(f"✅ Phase {phase} APPROVED" + (" - Ready for Phase 3 (Full Rollout)"
                                             if phase == 1 else ""))
    else:
        failed = ", ".join(c.name for c in validation.criteria if not c.passed)
        say(f"❌ Phase {phase} REJECTED ({validation.met}/{len(validation.criteria)} criteria; "
            f"failed: {failed}). See the report and `python monitor_production.py --report`.")
    say(f"Report: {report}")
    return PhaseOutcome(deployment_id, session, validation, metrics, report)


def write_report(settings: Settings, handle: StoreHandle, row: DeploymentRow,
                 validation: Validation, metrics: DeploymentMetrics) -> Path:
    folder = settings.path(settings.paths.reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with handle.engine.connect() as conn:
        health = conn.execute(select(HealthCheckRow.timestamp, HealthCheckRow.check_name,
                                     HealthCheckRow.passed, HealthCheckRow.health_score)
                              .where(HealthCheckRow.deployment_id == row.id)
                              .order_by(HealthCheckRow.id)).all()
        alerts = conn.execute(select(AlertRow.timestamp, AlertRow.severity, AlertRow.symbol,
                                     AlertRow.message)
                              .where(AlertRow.deployment_id == row.id)
                              .order_by(AlertRow.id)).all()
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


def revalidate_latest(settings: Settings, handle: StoreHandle, say: Say) -> PhaseOutcome:
    """Phase 2: validate the latest finished phase 1 again from the database; the result is
    a phase 2 row that phase 3 reads."""
    with OrmSession(handle.engine) as orm:
        row = orm.execute(select(DeploymentRow).where(DeploymentRow.phase == 1,
                                                      DeploymentRow.ended_at.is_not(None))
                          .order_by(DeploymentRow.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        raise DeploymentError("no finished phase 1 deployment to validate; run "
                              "`python deploy_production.py --phase 1 --symbol BTC/USDT` first")
    outcome = conclude(settings, handle, row.id, say)
    now = datetime.now(UTC).replace(tzinfo=None)
    with handle.engine.begin() as conn:
        conn.execute(insert(DeploymentRow).values(
            phase=2, symbols=row.symbols, mode=row.mode, status="completed", started_at=now,
            ended_at=now, duration_hours=0.0, verdict=outcome.validation.verdict,
            criteria_met=outcome.validation.met, report_path=str(outcome.report),
            notes=json.dumps({"validates": row.id})))
    return outcome


def phase1_approval(handle: StoreHandle) -> tuple[str | None, DeploymentRow | None]:
    """The verdict on the latest phase 1 (its own, or a later phase 2 re-validation)."""
    with OrmSession(handle.engine) as orm:
        rows = orm.execute(select(DeploymentRow).where(DeploymentRow.phase.in_((1, 2)),
                                                       DeploymentRow.verdict.is_not(None))
                           .order_by(DeploymentRow.id.desc())).scalars().all()
        phase1 = next((r for r in rows if r.phase == 1), None)
    if phase1 is None:
        return None, None
    latest = rows[0]
    return latest.verdict, phase1


def train_missing(settings: Settings, symbols: list[str], say: Say) -> None:
    """Production champions for symbols that have none (``tradeloop train``, in a child
    process so the deployment never loads Lightning)."""
    files = ChampionFiles(settings.path(settings.paths.models_dir))
    for s in symbols:
        missing = [tf for tf in settings.timeframes.names if files.champion(s, tf) is None]
        if not missing:
            continue
        say(f"Training {s} ({', '.join(missing)})...")
        for tf in missing:
            cmd = [sys.executable, "-m", "tradeloop", "--config",
                   str(settings.base_dir / "config.yaml"), "train", "--symbol", s,
                   "--interval", tf]
            done = subprocess.run(cmd, cwd=settings.base_dir, capture_output=True, text=True)
            if done.returncode != 0:
                raise DeploymentError(f"training {s} {tf} failed: "
                                      f"{(done.stderr or done.stdout).strip()[-500:]}")
            say(f"  ✓ {s} {tf} trained")


# -- rollback and status --------------------------------------------------------------------
def rollback(settings: Settings, handle: StoreHandle, say: Say, *, models: bool,
             wait_seconds: float = 120.0) -> int:
    """Stop the running deployment (control channel), wait until it has closed its
    positions and released the lock; with ``models`` point the champions back to the
    versions in service when the latest live deployment started."""
    say(RULE)
    say("INITIATING ROLLBACK")
    say(RULE)
    lock = InstanceLock(settings.path(settings.paths.data_dir) / "engine.lock")
    holder = lock.held_elsewhere()
    code = 0
    if holder is None:
        say("No deployment is running.")
        _mark_abandoned(handle, say)
    else:
        say(f"Stopping continuous learning system (pid {holder.get('pid')}, "
            f"{holder.get('mode')}: {holder.get('symbols')})...")
        channel = ControlChannel(handle.engine)
        cid = channel.request("rollback", int(time.time() * 1000), requested_by="deploy")
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline and lock.held_elsewhere() is not None:
            time.sleep(0.5)
        if lock.held_elsewhere() is not None:
            status, _ = channel.status(cid)
            say(f"✗ the deployment did not stop within {wait_seconds:.0f}s (command {cid} "
                f"{status}); it polls the channel every few seconds — check it is alive")
            return 1
        say("Closing all open positions...")
        say("Disconnecting data provider...")
        say("✓ Rollback complete. System stopped.")
    if models:
        code = revert_models(settings, handle, say)
    say("Data preserved in database for analysis.")
    return code


def _mark_abandoned(handle: StoreHandle, say: Say) -> None:
    """Deployments left 'running' by a process that is gone."""
    with handle.engine.begin() as conn:
        ids = conn.execute(select(DeploymentRow.id).where(DeploymentRow.status == "running")
                           ).scalars().all()
        if ids:
            conn.execute(update(DeploymentRow).where(DeploymentRow.id.in_(ids)).values(
                status="failed", ended_at=datetime.now(UTC).replace(tzinfo=None)))
    for i in ids:
        say(f"Deployment {i} was left running by a process that is gone: marked failed")


def revert_models(settings: Settings, handle: StoreHandle, say: Say) -> int:
    """Point each champion alias back to its version at the start of the latest live
    deployment (replayed phases never change the production champions)."""
    with OrmSession(handle.engine) as orm:
        row = orm.execute(select(DeploymentRow).where(DeploymentRow.mode != "replay",
                                                       DeploymentRow.phase > 0,
                                                       DeploymentRow.phase != 2)
                           .order_by(DeploymentRow.id.desc()).limit(1)).scalar_one_or_none()
    if row is None or not row.notes:
        say("No live deployment on record: model aliases unchanged.")
        return 0
    notes = json.loads(row.notes)
    # the session records each champion in service at its start (older rows: version only)
    at_start = notes.get("models_at_start", {})
    before: dict[str, str] = ({k: v["version"] for k, v in at_start.items()}
                              or notes.get("champions_at_start", {}))
    from tradeloop.app import model_registry

    registry = model_registry(settings)
    changed = 0
    for key, version in before.items():
        symbol, tf = key.rsplit(" ", 1)
        current = registry.champion_version(symbol, tf)
        if current == version:
            continue
        file = registry.files.folder(symbol, tf) / f"v{version}.npz"
        if not file.exists():
            say(f"✗ {symbol} {tf}: model file {file} is gone; alias left at v{current}")
            continue
        registry.set_champion(symbol, tf, version, file)
        changed += 1
        say(f"✓ {symbol} {tf}: champion v{current} -> v{version}")
    say(f"Model aliases: {changed} reverted to the champions of deployment {row.id}")
    return 0


def status_rows(handle: StoreHandle, limit: int = 10) -> list[DeploymentRow]:
    with OrmSession(handle.engine) as orm:
        return list(orm.execute(select(DeploymentRow).order_by(DeploymentRow.id.desc())
                                .limit(limit)).scalars().all())
