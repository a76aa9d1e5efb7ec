"""The phased rollout of seed 002: pre-deployment checks, the replay window, a phase run as a
DeploymentSession (live on paper/testnet/live, or rehearsed on replayed history) and its validation,
the staged activation of phase 3 and production models for symbols without one.
``deploy_production.py`` is its CLI; the composition root builds each phase's parts.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradeloop.deploy.checks import CheckResult, check_paper_validation, run_checks
from tradeloop.deploy.session import DeploymentSession, SessionParts, SessionResult
from tradeloop.deploy.validation import (
    RULE,
    PhaseOutcome,
    RolloutRecords,
    Say,
    ValidationLog,
    conclude,
    fmt_ms,
)
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import DeploymentError
from tradeloop.domain.timeframes import Timeframe
from tradeloop.engine.walk_forward import train_initial
from tradeloop.ports import CandleWriter, ModelRegistry, RetrainRunner, Store
from tradeloop.settings import Settings

log = logging.getLogger("tradeloop.deploy")
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class ReplayWindow:
    start_ms: int
    end_ms: int


def pre_deployment_checks(settings: Settings, candles: CandleWriter, symbols: list[str],
                          replay: ReplayWindow | None, say: Say, *,
                          exchange: Callable[[], Any], champions: ModelRegistry,
                          database: CheckResult, paper_validation: bool = True,
                          sentiment: CheckResult | None = None) -> bool:
    """The five checks (per symbol when there are several), printed as in the guide; True
    when all pass. ``paper_validation``: also report whether the guide's prerequisite (a
    passed paper-trading validation) exists; it counts as a check only with
    ``deployment.require_paper_validation``, otherwise a missing one is a warning.
    ``sentiment``: whether news sentiment is configured and fresh; a check when the models
    read it (``model.features.sentiment``), otherwise a line of information."""
    say("Running pre-deployment checks...")
    window = (replay.start_ms, replay.end_ms) if replay is not None else None
    results: list[CheckResult] = []
    for symbol in symbols:
        checks = run_checks(settings, candles, symbol, exchange, champions, database,
                            replay=window)
        if results:  # database and config are not per symbol
            checks = [c for c in checks if c.name not in ("database", "config")]
        prefix = f"[{symbol}] " if len(symbols) > 1 else ""
        results += [CheckResult(c.name, c.passed, prefix + c.detail) for c in checks]
    prerequisite = check_paper_validation(settings, replayed=replay is not None) \
        if paper_validation else None
    if prerequisite is not None and settings.deployment.require_paper_validation:
        results.append(prerequisite)
    if sentiment is not None and settings.model.features.sentiment:
        results.append(sentiment)
    for r in results:
        say(f"{'✓' if r.passed else '✗'} {r.detail}")
    if sentiment is not None and not settings.model.features.sentiment:
        say(f"ℹ {sentiment.detail}")
    if prerequisite is not None and not settings.deployment.require_paper_validation:
        say(f"{'✓' if prerequisite.passed else '⚠'} {prerequisite.detail}"
            + ("" if prerequisite.passed else " (a warning: deployment.require_paper_"
               "validation is off)"))
    passed = sum(r.passed for r in results)
    say(RULE)
    say(f"Pre-deployment checks: {passed}/{len(results)} passed")
    say(RULE)
    return passed == len(results)


def replay_window(settings: Settings, candles: CandleWriter, symbols: list[str],
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
        last = candles.last_open_time(SeriesKey(settings.exchange.name, s, finest.name))
        if last is None:
            raise DeploymentError(f"no stored {s} {finest} candles to replay; import or "
                                  f"download history first (tradeloop data ...)")
        lasts.append(last + finest.ms)
    end = end_ms if end_ms is not None else min(lasts)
    end -= end % finest.ms
    return ReplayWindow(end - duration_ms, end)


def train_walk_forward(settings: Settings, runner: RetrainRunner, store: Store,
                       symbols: list[str], start_ms: int, say: Say) -> None:
    """Walk-forward models for a replayed phase: trained on data before the window (the
    routine backtests use too); a series that cannot be trained stops the phase."""
    results = train_initial(runner, store, [(s, tf) for s in symbols
                                            for tf in settings.timeframes.names], start_ms)
    failed = [f"{r.symbol} {r.timeframe}: {r.error}" for r in results if r.error]
    for r in results:
        if not r.error:
            say(f"  ✓ [{r.symbol}_{r.timeframe}] model trained on data before "
                f"{fmt_ms(start_ms)} (validation confidence "
                f"{100 * (r.validation_confidence or 0):.2f}%, {r.seconds:.1f}s)")
    if failed:
        runner.close()
        raise DeploymentError("walk-forward models could not be trained for the replay: "
                              + "; ".join(failed))


def deploy_phase(settings: Settings, symbols: list[str], parts: SessionParts, *, mode: str,
                 phase: int, duration_ms: int | None, replayed: bool, say: Say,
                 records: RolloutRecords, log_: ValidationLog,
                 notes: dict[str, Any] | None = None, stop: Callable[[], bool] | None = None,
                 activate_after: dict[str, int] | None = None) -> PhaseOutcome:
    """Deploy ``symbols``, run until the duration is over (or a stop/rollback), then
    validate, store the verdict and write the report."""
    session = DeploymentSession(settings, symbols, parts, mode=mode, phase=phase,
                      activate_after=activate_after,
                      on_activated=lambda s: say(f"✅ {s} deployed successfully"),
                      notes=notes)
    for s in symbols:
        if not (activate_after or {}).get(s):
            _announce(settings, s, say)
    hours = (duration_ms or 0) / HOUR_MS
    what = " and ".join(symbols) if len(symbols) <= 2 else f"{len(symbols)} symbols"
    say(f"✓ Deployment started. Monitoring {what} "
        + (f"for {hours:g} hours" if duration_ms else "until stopped (Ctrl+C)")
        + (" (replay at full speed)..." if replayed else "..."))
    result: SessionResult | None = None
    try:
        result = session.run(duration_ms, stop=stop)
    except KeyboardInterrupt:
        say("Interrupted (Ctrl+C): positions closed, deployment stopped gracefully.")
    if session.deployment_id is None:
        raise DeploymentError("the deployment did not start")
    return conclude(settings, records, log_, session.deployment_id, say, session=result)


def _announce(settings: Settings, symbol: str, say: Say) -> None:
    say(f"Deploying {symbol}...")
    for tf in settings.timeframes.names:
        say(f"  ✓ Subscribed to {symbol} @ {tf}")
    say(f"✅ {symbol} deployed successfully")


def train_missing(settings: Settings, champions: ModelRegistry, symbols: list[str], say: Say
                  ) -> None:
    """Production champions for symbols that have none (``tradeloop train``, in a child
    process so the deployment never loads Lightning)."""
    for s in symbols:
        missing = [tf for tf in settings.timeframes.names if champions.champion(s, tf) is None]
        if not missing:
            continue
        say(f"Training {s} ({', '.join(missing)})...")
        for tf in missing:
            cmd = [sys.executable, "-m", "tradeloop", "--config",
                   str(settings.base_dir / "config.yaml"), "train", "--symbol", s,
                   "--interval", tf]
            # this Python running tradeloop, a list of arguments, no shell
            done = subprocess.run(cmd, cwd=settings.base_dir,  # noqa: S603
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise DeploymentError(f"training {s} {tf} failed: "
                                      f"{(done.stderr or done.stdout).strip()[-500:]}")
            say(f"  ✓ {s} {tf} trained")
