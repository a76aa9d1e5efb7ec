"""``tradeloop backtest``: the engine on replayed history, retraining walk-forward."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from rich.table import Table

from tradeloop.app import open_store
from tradeloop.cli.common import (
    add_strategy_file,
    console,
    parse_date_ms,
    parse_duration_ms,
    progress_bar,
    settings_from,
)
from tradeloop.domain.errors import DataError
from tradeloop.domain.symbols import parse_symbol


def register(groups: Any) -> None:
    p = groups.add_parser("backtest", help="replay history through the engine (walk-forward)")
    p.add_argument("--symbols", default=None,
                   help="comma list, e.g. BTC/USDT,ETH/USDT (default: the config's symbols)")
    p.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD (UTC)")
    p.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (UTC), exclusive")
    p.add_argument("--retrain-every", default=None, help="scheduled retraining, e.g. 7d")
    p.add_argument("--verbose", action="store_true", help="log every engine decision")
    add_strategy_file(p)
    p.set_defaults(func=backtest)


def _fmt(v: float | int | None, pct: bool = False) -> str:
    if v is None:
        return "—"
    if v == float("inf"):
        return "∞"
    return f"{100 * v:.2f}%" if pct else (f"{v:,.2f}" if isinstance(v, float) else str(v))


def backtest(args: argparse.Namespace) -> int:
    from tradeloop.app.backtests import run_backtest  # imports torch and Lightning

    settings = settings_from(args)
    symbols = ([parse_symbol(s) for s in args.symbols.split(",")] if args.symbols else
               settings.symbols)
    start, end = parse_date_ms(args.start), parse_date_ms(args.end)
    if end <= start:
        raise DataError(f"--to {args.end} is not after --from {args.start}")
    every = parse_duration_ms(args.retrain_every) if args.retrain_every else None
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.verbose:
        logging.getLogger("tradeloop.engine").setLevel(logging.WARNING)
    store = open_store(settings)
    try:
        with progress_bar(count=True) as bar:
            task = bar.add_task("replaying", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            res = run_backtest(settings, store, symbols, start, end, retrain_every_ms=every,
                               progress=progress)
    finally:
        store.close()
    p = res.performance
    table = Table(title=f"Backtest {res.run_id}: {', '.join(symbols)} {args.start} .. {args.end}",
                  title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value, pct in (
        ("total return", p.total_return, True), ("buy and hold", p.buy_and_hold_return, True),
        ("CAGR", p.cagr, True), ("Sharpe", p.sharpe, False), ("Sortino", p.sortino, False),
        ("max drawdown", p.max_drawdown, True), ("trades", p.trades, False),
        ("win rate", p.win_rate, True), ("profit factor", p.profit_factor, False),
        ("average R", p.average_r, False), ("exposure", p.exposure, True),
        ("end equity", p.end_equity, False)):
        shown = "— (window < 30 days)" if name == "CAGR" and value is None else \
            _fmt(value, pct) if value == value else "—"
        table.add_row(name, shown)
    console.print(table)
    s = res.engine.stats
    console.print(f"events {res.events:,}, predictions {s.predictions:,}, orders {s.orders}, "
                  f"refusals {s.refusals:,}; retraining: {res.learning.stats()}")
    console.print(f"trades, equity curve and metrics: {res.folder}")
    return 0
