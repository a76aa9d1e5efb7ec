"""``tradeloop graduation --replay``: the strategy graduation pipeline rehearsed on stored
history at simulated time, with its report."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from tradeloop.cli.common import console, parse_date_ms, progress_bar, settings_from


def register(groups: Any) -> None:
    p = groups.add_parser("graduation", help="rehearse strategy graduation on stored history "
                                             "(candidates -> backtest -> paper -> live "
                                             "candidate -> live, allocations, retirements)")
    p.add_argument("--replay", action="store_true", required=True,
                   help="at simulated time on stored candles (required: the rehearsal)")
    p.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD (UTC)")
    p.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (UTC), exclusive")
    p.set_defaults(func=graduation)


def graduation(args: argparse.Namespace) -> int:
    from tradeloop.app import open_store
    from tradeloop.app.graduation import rehearse, report

    settings = settings_from(args)
    start, end = parse_date_ms(args.start), parse_date_ms(args.end)
    store = open_store(settings)
    try:
        with progress_bar(count=True) as bar:
            task = bar.add_task("rehearsal", total=None)

            def progress(what: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=what)

            r = rehearse(settings, store, start, end, progress=progress)
    finally:
        store.close()
    rep = report(r)
    table = Table(title=f"graduation rehearsal {r.pipeline}: {args.start} .. {args.end}",
                  title_justify="left")
    for col in ("instance", "strategy", "symbol", "tf", "stage", "allocation"):
        table.add_column(col)
    for c in rep["candidates"]:
        alloc = "" if c["allocation"] is None else f"{100 * c['allocation']:.1f} %"
        table.add_row(c["instance"], c["strategy"], c["symbol"], c["timeframe"],
                      f"skipped: {c['skipped']}" if c["skipped"] else c["stage"], alloc)
    console.print(table)
    counts = ", ".join(f"{k} {v}" for k, v in rep["reached"].items() if v)
    console.print(f"ever reached: {counts or 'nothing'}; {r.backtests} backtests judged "
                  f"(the deflated Sharpe's trials)")
    acct = r.account()
    console.print(f"account: {100 * float(acct['total_return'] or 0):+.2f} %, max drawdown "
                  f"{100 * float(acct['max_drawdown'] or 0):.2f} %; {len(r.transitions)} "
                  f"transitions; report {r.report_path} ({r.seconds:.1f} s)")
    return 0
