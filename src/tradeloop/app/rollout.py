"""The rollout's composition (``deploy_production.py``): each phase's parts for its mode —
a rehearsal on replayed history (simulated clock, its own walk-forward models) or live
(paper/testnet/live on the exchange, the production champions) — and the stores the
rollout's checks, validation and rollback work on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tradeloop.adapters.clock import SimClock, WallClock
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.adapters.store import database
from tradeloop.adapters.store.control_store import ControlChannel
from tradeloop.adapters.store.deployment_records import DeploymentRecords
from tradeloop.adapters.store.deployments import Deployments
from tradeloop.adapters.store.trading_store import TradingStore
from tradeloop.app.exchange import live_parts
from tradeloop.app.feeds import replay_feed
from tradeloop.app.news import news_status
from tradeloop.app.retrain_jobs import retrain_runner
from tradeloop.app.sessions import session_parts
from tradeloop.app.stores import (
    champion_files,
    engine_lock,
    exchange_for,
    model_registry,
    notifier_for,
    wall_clock,
)
from tradeloop.deploy import rollback as rollback_flow
from tradeloop.deploy import rollout, validation
from tradeloop.deploy.checks import CheckResult
from tradeloop.deploy.rollout import ReplayWindow
from tradeloop.deploy.validation import PhaseOutcome, Say, fmt_ms
from tradeloop.ports import StoreHandle
from tradeloop.settings import Settings

__all__ = ["PhaseOutcome", "ReplayWindow", "conclude", "fmt_ms", "phase1_approval",
           "pre_deployment_checks", "replay_window", "revalidate_latest", "rollback",
           "run_phase", "status_rows", "train_missing"]


def replay_window(settings: Settings, handle: StoreHandle, symbols: list[str],
                  start_ms: int | None, end_ms: int | None, duration_ms: int) -> ReplayWindow:
    return rollout.replay_window(settings, handle.candles, symbols, start_ms, end_ms,
                                 duration_ms)


def database_check(handle: StoreHandle) -> CheckResult:
    result = database.check(handle.engine)
    if result.ok:
        return CheckResult("database", True, "Database integrity: OK")
    problem = result.integrity if not result.integrity.startswith("ok") else (
        f"schema {result.revision} is not {result.head}; run `tradeloop db upgrade`")
    return CheckResult("database", False, f"Database integrity: {problem}")


def pre_deployment_checks(settings: Settings, handle: StoreHandle, symbols: list[str],
                          replay: ReplayWindow | None, say: Say, *,
                          paper_validation: bool = True) -> bool:
    return rollout.pre_deployment_checks(
        settings, handle.candles, symbols, replay, say, exchange=lambda: exchange_for(settings),
        champions=champion_files(settings), database=database_check(handle),
        paper_validation=paper_validation,
        sentiment=sentiment_check(settings, handle, symbols,
                                  replay.start_ms if replay is not None
                                  else wall_clock().now_ms()))


def sentiment_check(settings: Settings, handle: StoreHandle, symbols: list[str], at_ms: int
                    ) -> CheckResult:
    """News sentiment configured, and scored headlines of every symbol no older than
    ``news.fresh_hours`` at ``at_ms`` (a replay: its start)."""
    n = settings.news
    used = "a model input" if settings.model.features.sentiment else "not a model input"
    if not n.configured:
        return CheckResult("sentiment", False, f"Sentiment: no news source configured "
                                               f"({used})")
    status = news_status(settings, handle, at_ms)
    stale = [s for s in symbols if not status["symbols"].get(s, {}).get("fresh")]
    if stale:
        return CheckResult("sentiment", False,
                           f"Sentiment: no headline scored by {n.sentiment.model} in the last "
                           f"{n.fresh_hours:g} h for {', '.join(stale)} ({used}; "
                           f"tradeloop news fetch)")
    return CheckResult("sentiment", True, f"Sentiment: fresh for {', '.join(symbols)} "
                                          f"({n.sentiment.model}, {used})")


def run_phase(settings: Settings, handle: StoreHandle, symbols: list[str], *, phase: int,
              duration_ms: int | None, replay: ReplayWindow | None, say: Say,
              stop: Callable[[], bool] | None = None,
              activate_after: dict[str, int] | None = None, mode: str | None = None
              ) -> PhaseOutcome:
    """Deploy ``symbols`` for a phase: rehearsed on ``replay`` (never touching the
    production champions: its models are trained walk-forward into the phase's own folder
    and retrain at simulated time) or live: ``mode`` paper/testnet/live (default: the
    configured ``live_trading.mode``; testnet and live trade through the exchange broker)."""
    say("Initializing system components...")
    notes: dict[str, Any] = {}
    if replay is not None:
        clock: SimClock | WallClock = SimClock(replay.start_ms)
        folder = settings.path(settings.paths.data_dir) / "deployments" / \
            f"phase{phase}-{datetime.now(UTC):%Y%m%d_%H%M%S}"
        runner = retrain_runner(settings, folder / "models", wait=True)
        rollout.train_walk_forward(settings, runner, TradingStore(handle.engine, "replay"),
                                   symbols, replay.start_ms, say)
        assert isinstance(clock, SimClock)
        notes["replay"] = {"from": fmt_ms(replay.start_ms), "to": fmt_ms(replay.end_ms),
                           "models": str(folder / "models")}
        notifier = notifier_for(settings, handle.engine, clock)
        parts = session_parts(settings, handle, mode="replay", clock=clock,
                              feed=replay_feed(handle, clock, settings, replay.start_ms,
                                               replay.end_ms),
                              runner=runner, registry=LocalRegistry(folder / "models"),
                              notifier=notifier)
        run_mode, duration_ms = "replay", replay.end_ms - replay.start_ms
    else:
        clock = WallClock()
        chosen = mode or settings.live_trading.mode
        run_mode = chosen if chosen in ("testnet", "live") else "paper"
        notifier = notifier_for(settings, handle.engine, clock)
        live = live_parts(settings, handle, clock, run_mode, notifier)
        parts = session_parts(settings, handle, mode=run_mode, clock=clock, feed=live.feed,
                              runner=retrain_runner(settings, None, wait=False),
                              notifier=notifier, broker=live.broker, gateway=live.gateway)
    say("✓ Components initialized")
    try:
        return rollout.deploy_phase(settings, symbols, parts, mode=run_mode, phase=phase,
                                    duration_ms=duration_ms, replayed=replay is not None,
                                    say=say, records=DeploymentRecords(handle.engine),
                                    log_=Deployments(handle.engine), notes=notes, stop=stop,
                                    activate_after=activate_after)
    finally:
        notifier.close()


def conclude(settings: Settings, handle: StoreHandle, deployment_id: int, say: Say
             ) -> PhaseOutcome:
    return validation.conclude(settings, DeploymentRecords(handle.engine),
                               Deployments(handle.engine), deployment_id, say)


def revalidate_latest(settings: Settings, handle: StoreHandle, say: Say) -> PhaseOutcome:
    return validation.revalidate_latest(settings, DeploymentRecords(handle.engine),
                                        Deployments(handle.engine), say)


def phase1_approval(handle: StoreHandle) -> tuple[str | None, Any]:
    return validation.phase1_approval(DeploymentRecords(handle.engine))


def train_missing(settings: Settings, symbols: list[str], say: Say) -> None:
    rollout.train_missing(settings, champion_files(settings), symbols, say)


def rollback(settings: Settings, handle: StoreHandle, say: Say, *, models: bool,
             wait_seconds: float = 120.0) -> int:
    """Stop the running deployment; with ``models`` point the champions back to the versions
    in service when the latest live deployment started."""
    code = rollback_flow.rollback(engine_lock(settings), ControlChannel(handle.engine),
                                  Deployments(handle.engine), say, wait_seconds=wait_seconds)
    if code:
        return code
    if models:
        code = rollback_flow.revert_models(settings, DeploymentRecords(handle.engine),
                                           model_registry(settings), say)
    say("Data preserved in database for analysis.")
    return code


def status_rows(handle: StoreHandle, limit: int = 10) -> list[Any]:
    return list(DeploymentRecords(handle.engine).recent(limit))
