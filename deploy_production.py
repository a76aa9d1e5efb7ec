#!/usr/bin/env python3
"""Phased production rollout (seed 002).

    python deploy_production.py --phase 1 --symbol BTC/USDT [--duration 24h]   # live, paper
    python deploy_production.py --phase 1 --replay [--from 2024-12-01 --to 2024-12-02]
    python deploy_production.py --phase 2              # re-validate the latest phase 1
    python deploy_production.py --phase 3 [--replay]   # every configured symbol, one by one
    python deploy_production.py --rollback [--models]  # from another terminal
    python deploy_production.py --status
    python deploy_production.py --check                # pre-deployment checks only

Exit codes: 0 approved / done, 1 error or failed checks, 2 bad arguments, 3 REJECTED,
4 rolled back.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from tradeloop.app import StoreHandle, open_store
from tradeloop.cli.common import parse_date_ms, parse_duration_ms, setup_logging
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.symbols import parse_symbol
from tradeloop.settings import Settings, load_settings

RULE = "=" * 80
EXIT_REJECTED, EXIT_ROLLED_BACK = 3, 4
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)


def say(line: str) -> None:
    console.print(line, markup=False)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Phased production rollout (seed 002)",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("Exit codes")[1].join(("Exit codes", "")))
    p.add_argument("--config", default=None, help="config file (default: ./config.yaml)")
    p.add_argument("--phase", type=int, choices=(1, 2, 3), default=None)
    p.add_argument("--symbol", default=None,
                   help="phase 1 symbol (default: deployment.phase1_symbol)")
    p.add_argument("--duration", default=None,
                   help="e.g. 24h, 90m, 7d (default: deployment.duration_hours; phase 3 live "
                        "runs until stopped)")
    p.add_argument("--mode", choices=("paper", "testnet", "live"), default=None,
                   help="default: live_trading.mode")
    p.add_argument("--replay", action="store_true",
                   help="run the phase on stored history at full speed (simulated clock)")
    p.add_argument("--from", dest="start", default=None, help="replay start, e.g. 2024-12-01")
    p.add_argument("--to", dest="end", default=None, help="replay end")
    p.add_argument("--force", action="store_true",
                   help="deploy despite failed checks / without an approved phase 1")
    p.add_argument("--rollback", action="store_true", help="stop the running deployment")
    p.add_argument("--models", action="store_true",
                   help="with --rollback: point model aliases back to the previous champions")
    p.add_argument("--status", action="store_true", help="show what is deployed")
    p.add_argument("--check", action="store_true", help="only run the pre-deployment checks")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.models and not args.rollback:
        parser().error("--models goes with --rollback")
    try:
        settings = load_settings(args.config)
        if args.phase is not None or args.rollback:
            setup_logging(settings, "production_deployment.log")
        store = open_store(settings)
    except TradeloopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return dispatch(args, settings, store)
    except TradeloopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def dispatch(args: argparse.Namespace, settings: Settings, store: StoreHandle) -> int:
    from tradeloop.app import rollout as phases

    if args.rollback:
        return phases.rollback(settings, store, say, models=args.models)
    if args.status:
        return show_status(settings, store)
    if args.phase == 2:
        outcome = phases.revalidate_latest(settings, store, say)
        return 0 if outcome.validation.verdict == "APPROVED" else EXIT_REJECTED
    replay = args.replay or settings.live_trading.mode == "replay"
    mode = "replay" if replay else (args.mode or settings.live_trading.mode)
    phase = args.phase or (None if args.check else 1)
    symbols = [parse_symbol(args.symbol or settings.deployment.phase1_symbol)] \
        if phase in (1, None) else list(settings.symbols)
    default_h = settings.deployment.duration_hours
    duration = parse_duration_ms(args.duration) if args.duration else \
        (None if phase == 3 and not replay else int(default_h * 3_600_000))
    window = phases.replay_window(
        settings, store, symbols, parse_date_ms(args.start) if args.start else None,
        parse_date_ms(args.end) if args.end else None,
        duration or int(default_h * 3_600_000)) if replay else None
    if window is not None:
        duration = window.end_ms - window.start_ms

    say(RULE)
    say("PHASE 1: SINGLE SYMBOL DEPLOYMENT" if phase == 1 else
        "PHASE 3: FULL PRODUCTION ROLLOUT" if phase == 3 else "PRE-DEPLOYMENT CHECKS")
    say(RULE)
    if phase == 3:
        say(f"Deploying to {len(symbols)} symbols:")
        for s in symbols:
            say(f"  - {s}")
    else:
        say(f"Symbol: {', '.join(symbols)}")
    say(f"Duration: {duration / 3_600_000:g} hours" if duration else "Duration: until stopped")
    say(f"Start Time: {datetime.now(UTC):%Y-%m-%d %H:%M:%S}")
    say(f"Mode: {mode}" + (f" (stored history {phases.fmt_ms(window.start_ms)} .. "
                           f"{phases.fmt_ms(window.end_ms)} UTC, simulated clock)"
                           if window else ""))
    say(RULE)
    say("")
    ok = phases.pre_deployment_checks(settings, store, symbols, window, say)
    if phase is None:
        return 0 if ok else 1
    if not ok:
        if not args.force:
            say("✗ Deployment refused: fix the failed checks (or pass --force).")
            return 1
        say("⚠ --force: deploying despite failed checks")
    activate: dict[str, int] = {}
    if phase == 3:
        verdict, first = phases.phase1_approval(store)
        if verdict != "APPROVED":
            why = "no phase 1 has been validated" if verdict is None else \
                f"the latest phase 1 (deployment {first.id if first else '?'}) was {verdict}"
            if not args.force:
                say(f"✗ Phase 3 needs an approved phase 1: {why}. Run phase 1 (and phase 2) "
                    f"first, or pass --force.")
                return 1
            say(f"⚠ WARNING: --force: rolling out although {why}")
        done = set(first.symbols.split(",")) if first and verdict == "APPROVED" else set()
        for s in symbols:
            if s in done:
                say(f"✓ {s} already deployed (Phase 1)")
        if not replay:
            phases.train_missing(settings, symbols, say)
        pause = int(settings.deployment.rollout_pause_seconds * 1000)
        later = [s for s in symbols if s not in done]
        first_new = 0 if not done else 1
        activate = {s: pause * (i + first_new) for i, s in enumerate(later)}
    stopping = {"flag": False}

    def on_term(signum: int, frame: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    outcome = phases.run_phase(settings, store, symbols, phase=phase, duration_ms=duration,
                               replay=window, say=say, stop=lambda: stopping["flag"],
                               activate_after=activate, mode=None if replay else mode)
    if phase == 3 and outcome.session is not None and outcome.session.status != "rolled_back":
        say(RULE)
        say(f"✅ FULL ROLLOUT COMPLETE - {len(symbols)} symbols active")
        say(RULE)
    if outcome.session is not None and outcome.session.status == "rolled_back":
        say(f"⚠ Deployment {outcome.deployment_id} was rolled back: "
            f"{outcome.session.rollback_reason}")
        return EXIT_ROLLED_BACK
    return 0 if outcome.validation.verdict == "APPROVED" else EXIT_REJECTED


def show_status(settings: Settings, store: StoreHandle) -> int:
    from tradeloop.app import rollout as phases
    from tradeloop.app.stores import engine_lock

    holder = engine_lock(settings).held_elsewhere()
    say(RULE)
    say("DEPLOYMENT STATUS")
    say(RULE)
    if holder:
        say(f"Running: pid {holder.get('pid')}, phase {holder.get('phase')}, "
            f"{holder.get('mode')}: {holder.get('symbols')} (since {holder.get('started')})")
    else:
        say("Nothing is running.")
    rows = phases.status_rows(store)
    table = Table(title="Deployments (latest first)", title_justify="left")
    for col in ("id", "phase", "mode", "symbols", "status", "started (UTC)", "hours",
                "health", "verdict", "criteria"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r.id), str(r.phase), r.mode, r.symbols, r.status,
                      f"{r.started_at:%Y-%m-%d %H:%M}",
                      f"{r.duration_hours:.1f}" if r.duration_hours is not None else "—",
                      f"{r.health_score:.0f}" if r.health_score is not None else "—",
                      r.verdict or "—", f"{r.criteria_met}/5" if r.criteria_met is not None
                      else "—")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
