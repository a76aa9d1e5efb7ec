"""``tradeloop strategy list|export|validate|import|status``: the strategy library, its files
and the graduation pipeline's instances."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from tradeloop.cli.common import console, parse_date_ms, settings_from
from tradeloop.domain.errors import ConfigError
from tradeloop.domain.symbols import parse_symbol
from tradeloop.domain.timeframes import Timeframe
from tradeloop.strategies.catalog import CATALOGUE
from tradeloop.strategies.imported import PREFIX, imported_files, load_strategy_file, read_json


def register(groups: Any) -> None:
    p = groups.add_parser("strategy", help="the strategy library")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="every strategy with its version and parameter schema")
    ls.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    ls.set_defaults(func=list_strategies)
    ex = sub.add_parser("export", help="write seed 001's strategy file (config.json 2.1.0) "
                                       "with the metrics of a backtest on stored candles")
    ex.add_argument("name", help="a strategy of the library")
    source = ex.add_mutually_exclusive_group()
    source.add_argument("--params", type=Path, default=None,
                        help="JSON object of parameters (default: trading.params of the "
                             "config)")
    source.add_argument("--study", default=None, metavar="ID",
                        help="the best trial of this optimisation study (its deflated Sharpe "
                             "and PBO go into backtest_metrics)")
    ex.add_argument("--symbol", required=True, help="e.g. ADA/USDT")
    ex.add_argument("--timeframe", required=True, help="e.g. 15m")
    ex.add_argument("--to", dest="out", type=Path, required=True, help="the file to write")
    ex.add_argument("--backtest-from", default=None,
                    help="YYYY-MM-DD (default: the study's window, else the first stored)")
    ex.add_argument("--backtest-to", default=None,
                    help="YYYY-MM-DD (default: the study's window, else the last stored)")
    ex.add_argument("--description", default=None, help="the file's description")
    ex.set_defaults(func=export)
    va = sub.add_parser("validate", help="check a strategy file: errors, then warnings")
    va.add_argument("file", type=Path)
    va.set_defaults(func=validate)
    im = sub.add_parser("import", help="check a strategy file and keep it in strategies/")
    im.add_argument("file", type=Path)
    im.set_defaults(func=import_file)
    st = sub.add_parser("status", help="the graduation pipeline: every instance's stage and "
                                       "allocation, and the latest transitions with their "
                                       "criteria")
    st.add_argument("--pipeline", default=None, metavar="NAME",
                    help="live, or a rehearsal's name (default: live if it has instances, "
                         "else the most recent rehearsal)")
    st.add_argument("--transitions", type=int, default=20, metavar="N",
                    help="how many of the latest transitions to show (default 20)")
    st.set_defaults(func=status)


def _rows() -> list[dict[str, Any]]:
    return [{"name": s.name, "version": s.version, "description": s.description,
             "needs_models": s.needs_models, "params_key": s.key,
             "params": [{"name": p.name, "type": p.kind, "default": p.default, "low": p.low,
                         "high": p.high, "step": p.step, "description": p.description}
                        for p in s.schema.params]}
            for s in CATALOGUE.values()]


def list_strategies(args: argparse.Namespace) -> int:
    rows = _rows()
    files = imported_files(settings_from(args))
    if args.json:
        console.print_json(json.dumps(rows))
        return 0
    for row in rows:
        shared = "" if row["params_key"] == row["name"] else \
            f" — parameters: trading.params.{row['params_key']}"
        console.print(f"[bold]{row['name']}[/] v{row['version']}"
                      f"{' (trains models)' if row['needs_models'] else ''}{shared}\n"
                      f"  {row['description']}")
        if row["params"]:
            table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
            for col in ("parameter", "type", "default", "range", "step", "meaning"):
                table.add_column(col)
            for p in row["params"]:
                table.add_row(p["name"], p["type"], str(p["default"]),
                              f"[{_g(p['low'])}, {_g(p['high'])}]", _g(p["step"]),
                              p["description"])
            console.print(table)
        console.print()
    if files:
        console.print("[bold]imported strategy files[/] (trading.strategy: file:NAME, or "
                      "tradeloop backtest|run --strategy-file FILE):")
        for f in files:
            console.print(f"  {PREFIX}{f.name}  ({f})")
    return 0


def export(args: argparse.Namespace) -> int:
    from tradeloop.app.strategy_files import export_strategy

    settings = settings_from(args)
    spec = CATALOGUE.get(args.name)
    symbol, tf = parse_symbol(args.symbol), Timeframe.parse(args.timeframe).name
    params = (read_json(args.params, "parameter file") if args.params is not None else
              settings.trading.params.get(spec.key, {}) if spec is not None else {})
    if not isinstance(params, dict):
        raise ConfigError(f"{args.params}: expected a JSON object of parameters")
    start = parse_date_ms(args.backtest_from) if args.backtest_from else None
    end = parse_date_ms(args.backtest_to) if args.backtest_to else None
    extra: dict[str, Any] = {}
    if args.study is not None:
        from tradeloop.app.optimisation import study_report

        report = study_report(settings, args.study)
        if report.spec.strategy != args.name or report.best_number is None:
            raise ConfigError(f"study {args.study} optimised {report.spec.strategy}"
                              f"{'' if report.best_number is not None else ' (no trial completed)'}"
                              f", not {args.name}")
        params, extra = report.best_params, report.metrics()
        start = start if start is not None else report.spec.start_ms
        end = end if end is not None else report.spec.end_ms
    doc = export_strategy(settings, args.name, params, symbol, tf, start, end,
                          extra_metrics=extra, description=args.description)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    m = doc["backtest_metrics"]
    console.print(f"✓ {doc['strategy_name']} on {symbol} {tf} -> {args.out}: "
                  f"{m['total_trades']} trades, return {100 * m['total_pnl']:.2f}% "
                  f"({m['backtest_from'][:10]} .. {m['backtest_to'][:10]})")
    return 0


def validate(args: argparse.Namespace) -> int:
    sf = load_strategy_file(args.file)
    console.print(f"✅ Configuration valid: {sf.spec.file_name} (v{sf.spec.version}) on "
                  f"{sf.exchange['trading_pair']} {sf.timeframe}")
    _warn(sf.warnings)
    return 0


def import_file(args: argparse.Namespace) -> int:
    from tradeloop.app.strategy_files import import_strategy_file

    target, sf = import_strategy_file(settings_from(args), args.file)
    console.print(f"✅ Configuration valid: {sf.spec.file_name} on "
                  f"{sf.exchange['trading_pair']} {sf.timeframe}")
    _warn(sf.warnings)
    console.print(f"imported as {target}: choose it as strategy {PREFIX}{target.name} "
                  f"(trading.strategy, the dashboard) or trade it whole with "
                  f"`tradeloop backtest|run --strategy-file {target}`")
    return 0


def _warn(warnings: list[str]) -> None:
    if warnings:
        console.print(f"⚠️ {len(warnings)} warnings (review)")
        for w in warnings:
            console.print(f"  - {w}")


def _g(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def status(args: argparse.Namespace) -> int:
    from tradeloop.app.graduation import pipeline_status

    if args.transitions < 0:
        raise ConfigError("--transitions must be 0 or more")
    st = pipeline_status(settings_from(args), args.pipeline, args.transitions)
    if st.pipeline is None:
        console.print("no graduation pipeline yet: Wipe Data starts the live one; "
                      "`tradeloop graduation --replay --from ... --to ...` rehearses one")
        return 0
    table = Table(title=f"graduation pipeline {st.pipeline}", title_justify="left")
    for col in ("instance", "strategy", "symbol", "tf", "stage", "since", "allocation",
                "source"):
        table.add_column(col)
    for i in st.instances:
        table.add_row(i.instance, i.strategy, i.symbol, i.timeframe, i.stage,
                      f"{i.stage_since:%Y-%m-%d %H:%M}",
                      "" if i.fraction is None else f"{100 * i.fraction:.1f} %", i.source)
    console.print(table)
    if st.progress is not None:
        prog = st.progress
        console.print(f"backtests: {prog['done']}/{prog['total']} "
                      f"(as of {prog['as_of'][:16]})")
    traded = [p for p in st.performance.values() if p.trades]
    if traded:
        perf = Table(title="paper and live instances: closed trades", title_justify="left")
        for col in ("instance", "trades", "P&L", "win rate", "Sharpe", "max drawdown"):
            perf.add_column(col)
        for p in traded:
            perf.add_row(p.instance, str(p.trades), f"{p.pnl:+,.2f}",
                         f"{100 * (p.win_rate or 0):.1f} %",
                         "n/a" if p.sharpe is None else f"{p.sharpe:.2f}",
                         f"{100 * p.max_drawdown:.1f} %")
        console.print(perf)
    for t in st.transitions:
        console.print(f"{t['time']:%Y-%m-%d %H:%M}  {t['instance']}  {t['from']} -> {t['to']}:"
                      f" {t['reason']}", soft_wrap=True)
    others = [p for p in st.known if p != st.pipeline]
    if others:
        console.print(f"other pipelines: {', '.join(others[:5])}"
                      f"{' ...' if len(others) > 5 else ''}")
    return 0
