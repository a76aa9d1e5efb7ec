#!/usr/bin/env python3
"""Paper trading validation (seed 002's prerequisite of phase 1).

    python run_paper_trading_validation.py --duration 48            # live data, SimBroker
    python run_paper_trading_validation.py --duration 48 --replay [--from 2024-12-01]

Runs the configured symbols on paper (live prices, simulated fills; or rehearsed on stored
history at simulated time with its own walk-forward models) for the duration, validates the
run on the five criteria of a phase (APPROVED at deployment.validation.min_criteria), and
writes the result to validation_results/ (the report to production_reports/). Phase 1's
pre-deployment checks report whether a passed validation of deployment.paper_validation_hours
exists.

Exit codes: 0 passed, 1 error or failed checks, 2 bad arguments, 3 not passed, 4 rolled back.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from tradeloop.app import StoreHandle, open_store
from tradeloop.cli.common import parse_date_ms, parse_duration_ms, setup_logging
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.symbols import parse_symbol
from tradeloop.settings import Settings, load_settings

RULE = "=" * 80
EXIT_NOT_PASSED, EXIT_ROLLED_BACK = 3, 4
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)


def say(line: str) -> None:
    console.print(line, markup=False)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Paper trading validation (seed 002)",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("Exit codes")[1].join(("Exit codes", "")))
    p.add_argument("--config", default=None, help="config file (default: ./config.yaml)")
    p.add_argument("--duration", default="48",
                   help="hours (48) or a duration such as 48h, 90m, 3d (default 48 hours)")
    p.add_argument("--symbols", default=None,
                   help="comma-separated (default: every configured symbol)")
    p.add_argument("--replay", action="store_true",
                   help="rehearse on stored history at full speed (simulated clock)")
    p.add_argument("--from", dest="start", default=None, help="replay start, e.g. 2024-12-01")
    p.add_argument("--to", dest="end", default=None, help="replay end")
    p.add_argument("--force", action="store_true", help="run despite failed checks")
    return p


def duration_ms(text: str) -> int:
    try:
        hours = float(text)
    except ValueError:
        return parse_duration_ms(text)
    if not hours > 0:
        raise TradeloopError(f"--duration must be positive, got {text!r}")
    return int(hours * 3_600_000)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        setup_logging(settings, "paper_trading_validation.log")
        store = open_store(settings)
    except TradeloopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return validate(args, settings, store)
    except TradeloopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def validate(args: argparse.Namespace, settings: Settings, store: StoreHandle) -> int:
    from tradeloop.app import rollout as phases
    from tradeloop.deploy.validation import PAPER_VALIDATION, write_validation_result

    symbols = [parse_symbol(s) for s in args.symbols.split(",")] if args.symbols \
        else list(settings.symbols)
    duration = duration_ms(args.duration)
    window = phases.replay_window(
        settings, store, symbols, parse_date_ms(args.start) if args.start else None,
        parse_date_ms(args.end) if args.end else None, duration) if args.replay else None
    if window is not None:
        duration = window.end_ms - window.start_ms
    hours = duration / 3_600_000
    say(RULE)
    say("PAPER TRADING VALIDATION")
    say(RULE)
    say(f"Symbols: {', '.join(symbols)}")
    say(f"Duration: {hours:g} hours")
    say(f"Start Time: {datetime.now(UTC):%Y-%m-%d %H:%M:%S}")
    say("Mode: paper" + (f" rehearsed on stored history {phases.fmt_ms(window.start_ms)} .. "
                         f"{phases.fmt_ms(window.end_ms)} UTC (simulated clock)"
                         if window else " (live prices, simulated fills)"))
    say(RULE)
    say("")
    ok = phases.pre_deployment_checks(settings, store, symbols, window, say,
                                      paper_validation=False)
    if not ok:
        if not args.force:
            say("✗ Validation refused: fix the failed checks (or pass --force).")
            return 1
        say("⚠ --force: validating despite failed checks")
    stopping = {"flag": False}

    def on_term(signum: int, frame: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    outcome = phases.run_phase(settings, store, symbols, phase=PAPER_VALIDATION,
                               duration_ms=duration, replay=window, say=say,
                               stop=lambda: stopping["flag"], mode="paper")
    session = outcome.session
    rolled_back = session is not None and session.status == "rolled_back"
    stopped_early = session is None or session.status != "completed"
    covered = (session.ended_ms - session.started_ms) / 3_600_000 if session else 0.0
    passed = outcome.validation.verdict == "APPROVED" and not stopped_early
    path = write_validation_result(settings, outcome, mode="replay" if window else "paper",
                                   symbols=symbols, hours=covered, replayed=window is not None,
                                   passed=passed)
    say(f"Validation result: {path}" + ("" if passed else
                                        " (not passed" + (": the run did not complete"
                                                          if stopped_early else "") + ")"))
    if rolled_back:
        return EXIT_ROLLED_BACK
    return 0 if passed else EXIT_NOT_PASSED


if __name__ == "__main__":
    sys.exit(main())
