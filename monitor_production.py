#!/usr/bin/env python3
"""Production monitor (seed 002): `python monitor_production.py [--symbol X]`.

This version shows what the system holds so far: database health and, per symbol, the stored
candles of every configured timeframe with their freshness and gaps, plus the latest entries of
error_log. Live trading figures join this view with the engine (see README, Roadmap).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from tradeloop.adapters.store import database
from tradeloop.adapters.store.schema import ErrorLogRow
from tradeloop.app import open_store
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.symbols import parse_symbol
from tradeloop.settings import load_settings

RULE = "=" * 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Production monitor")
    parser.add_argument("--config", default=None)
    parser.add_argument("--symbol", default=None)
    args = parser.parse_args(argv)
    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
    try:
        settings = load_settings(args.config)
        symbols = [parse_symbol(args.symbol)] if args.symbol else settings.symbols
        store = open_store(settings)
    except TradeloopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        health = database.check(store.engine)
        status = {(s.key.symbol, s.key.timeframe): s for s in store.candles.status()
                  if s.key.exchange == settings.exchange.name}
        with store.engine.connect() as conn:
            errors = conn.execute(select(ErrorLogRow).order_by(ErrorLogRow.timestamp.desc())
                                  .limit(5)).scalars().all()
    finally:
        store.close()
    now = datetime.now(UTC)
    console.print(RULE)
    console.print(f"PRODUCTION MONITOR - {now:%Y-%m-%d %H:%M:%S} UTC")
    console.print(RULE)
    console.print("\n📊 SYSTEM STATUS")
    console.print(f"  Database: {database.redact_url(settings.database_url)} "
                  f"(integrity {health.integrity}, schema {health.revision})")
    console.print(f"  Mode (config): {settings.live_trading.mode}; no deployment is running")
    for symbol in symbols:
        table = Table(title=f"📈 {symbol}", title_justify="left")
        for col in ("timeframe", "last candle (UTC)", "age", "rows", "gaps"):
            table.add_column(col)
        for tf in settings.timeframes.names:
            st = status.get((symbol, tf))
            if st is None:
                table.add_row(tf, "—", "—", "0", "—")
                continue
            age_h = (now.timestamp() * 1000 - st.last_open) / 3_600_000
            table.add_row(tf, f"{datetime.fromtimestamp(st.last_open / 1000, UTC):%Y-%m-%d %H:%M}",
                          f"{age_h:,.1f} h", f"{st.rows:,}", str(st.gaps))
        console.print(table)
    console.print("\n⚠ Recent errors" if errors else "\n✓ No errors logged")
    for e in errors:
        console.print(f"  [{e.timestamp:%Y-%m-%d %H:%M}] {e.error_type}: {e.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
