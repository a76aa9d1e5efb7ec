#!/usr/bin/env python3
"""Phased production rollout (seed 002): `python deploy_production.py --phase 1 --symbol BTC/USDT`.

This version runs the pre-deployment checks ("Pre-deployment checks: 5/5 passed") and stops
there: the phase runner (deploy, health checks, validation, rollback) is built on the engine,
which is not part of this release. See README "Roadmap".
"""

from __future__ import annotations

import argparse
import sys

from tradeloop.app import exchange_for, open_store
from tradeloop.deploy.checks import run_checks
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.symbols import parse_symbol
from tradeloop.settings import load_settings

RULE = "=" * 80


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Phased production rollout")
    parser.add_argument("--config", default=None, help="config file (default: ./config.yaml)")
    parser.add_argument("--phase", type=int, choices=(1, 2, 3), default=1)
    parser.add_argument("--symbol", default="BTC/USDT")
    parser.add_argument("--check", action="store_true",
                        help="only run the pre-deployment checks (the default in this version)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        symbol = parse_symbol(args.symbol)
        store = open_store(settings)
    except TradeloopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        print(RULE)
        print("Running pre-deployment checks...")
        results = run_checks(settings, store.candles, symbol, lambda: exchange_for(settings))
    finally:
        store.close()
    for r in results:
        print(f"{'✓' if r.passed else '✗'} {r.detail}")
    passed = sum(r.passed for r in results)
    print(RULE)
    print(f"Pre-deployment checks: {passed}/{len(results)} passed")
    print(RULE)
    if not args.check:
        print(f"Phase {args.phase} deployment is not available in this version: only the "
              "pre-deployment checks run (see README, Roadmap).")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
