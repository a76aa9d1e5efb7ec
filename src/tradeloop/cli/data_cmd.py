"""``tradeloop data import|download|synth|resample|status``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from tradeloop.app import exchange_for, open_store, wall_clock
from tradeloop.app.data_tools import (
    DEFAULT_START_MS,
    RateLimiter,
    csv_files,
    downloader,
    synth_market,
)
from tradeloop.cli.common import (
    console,
    err_console,
    fmt_ms,
    parse_date_ms,
    progress_bar,
    settings_from,
)
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import DataError, InsufficientDataError
from tradeloop.domain.series import resample
from tradeloop.domain.symbols import parse_symbol
from tradeloop.domain.timeframes import Timeframe

EXIT_PARTIAL = 3


def register(groups: Any) -> None:
    p = groups.add_parser("data", help="import, download, generate and inspect candles")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    i = sub.add_parser("import", help="import candle CSV files (folders are searched)")
    i.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    i.add_argument("--exchange", help="override the exchange named by the file name")
    i.add_argument("--symbol", help="override the symbol named by the file name")
    i.add_argument("--timeframe", help="override the timeframe named by the file name")
    i.set_defaults(func=import_)

    d = sub.add_parser("download", help="download candles from an exchange through ccxt")
    d.add_argument("--exchange", default=None, help="ccxt exchange id (default: exchange.name)")
    d.add_argument("--symbol", required=True)
    d.add_argument("--timeframe", required=True)
    d.add_argument("--since", required=True, help="YYYY-MM-DD[THH:MM] UTC or ms")
    d.add_argument("--until", default=None, help="exclusive end (default: now)")
    d.set_defaults(func=download)

    s = sub.add_parser("synth", help="generate a seeded synthetic market (offline demos, tests)")
    s.add_argument("--symbol", default="SYN/USDT")
    s.add_argument("--days", type=float, default=30.0)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--start", default=None, help="first candle, YYYY-MM-DD (default 2024-01-01)")
    s.add_argument("--timeframes", default=None,
                   help="comma list (default: the configured timeframes); the finest is "
                        "generated and the others resampled from it")
    s.set_defaults(func=synth)

    r = sub.add_parser("resample", help="build higher-timeframe candles from stored ones")
    r.add_argument("--exchange", default=None)
    r.add_argument("--symbol", required=True)
    r.add_argument("--source", default="1m", help="stored timeframe to read (default 1m)")
    r.add_argument("--to", required=True, help="comma list of target timeframes")
    r.set_defaults(func=resample_)

    st = sub.add_parser("status", help="first/last candle, rows and gaps per series")
    st.add_argument("--symbol", default=None)
    st.set_defaults(func=status)


def _print_report(label: str, report: Any, notes: list[str]) -> None:
    for note in notes:
        console.print(f"    ! {note}")
    for line in report.lines():
        console.print(f"    ✗ rejected {line}")


def import_(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    files = csv_files.discover(args.paths)
    if not files:
        raise DataError("no .csv or .csv.gz files found in " + ", ".join(map(str, args.paths)))
    store = open_store(settings)
    clock = wall_clock()
    partial = failed = 0
    total_written = total_rows = 0
    try:
        with progress_bar(count=True) as bar:
            task = bar.add_task("importing", total=len(files))
            for path in files:
                bar.update(task, description=f"importing {path.name}")
                try:
                    res = csv_files.import_file(store.candles, path, now_ms=clock.now_ms(),
                                                exchange=args.exchange, symbol=args.symbol,
                                                timeframe=args.timeframe)
                except DataError as exc:
                    failed += 1
                    err_console.print(f"✗ {path}: {str(exc).removeprefix(f'{path}: ')}")
                    bar.advance(task)
                    continue
                rep = res.report
                total_written += res.written
                total_rows += rep.accepted
                missing = sum(g.missing for g in res.gaps)
                mark = "✓" if rep.rejected == 0 and not res.notes else "!"
                bar.console.print(
                    f"{mark} {res.key}: {rep.accepted:,} valid rows ({res.written:,} new or "
                    f"changed), {rep.rejected:,} rejected, {len(res.gaps)} gaps / "
                    f"{missing:,} missing candles  [{path.name}]")
                _print_report(str(res.key), rep, res.notes)
                if rep.rejected or res.notes:
                    partial += 1
                bar.advance(task)
    finally:
        store.close()
    console.print(f"imported {len(files) - failed}/{len(files)} files: {total_rows:,} valid "
                  f"candles, {total_written:,} new or changed rows")
    if failed:
        return 1
    return EXIT_PARTIAL if partial else 0


def download(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    exchange = exchange_for(settings, args.exchange)
    key = SeriesKey(exchange.id, parse_symbol(args.symbol), Timeframe.parse(args.timeframe).name)
    store = open_store(settings)
    try:
        with progress_bar() as bar:
            task = bar.add_task(f"downloading {key}", total=1.0)

            def progress(done: int, total: int, rows: int) -> None:
                bar.update(task, completed=done / max(total, 1),
                           description=f"downloading {key} ({rows:,} rows)")

            res = downloader.download(
                exchange, store.candles, key, since_ms=parse_date_ms(args.since),
                until_ms=parse_date_ms(args.until) if args.until else None, clock=wall_clock(),
                max_retries=settings.exchange.max_retries, progress=progress,
                limiter=RateLimiter(settings.exchange.rate_limit_per_minute, wall_clock()))
            bar.update(task, completed=1.0)
    finally:
        store.close()
    if res.resumed_from is not None:
        console.print(f"  resumed after the last stored candle: from {fmt_ms(res.resumed_from)}")
    console.print(f"✓ {key}: {res.fetched:,} candles fetched in {res.pages} pages, "
                  f"{res.written:,} new or changed, {res.report.rejected} rejected, "
                  f"{res.retries} retries; {len(res.gaps)} gaps in the stored series")
    _print_report(str(key), res.report, [])
    return EXIT_PARTIAL if res.report.rejected else 0


def synth(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    symbol = parse_symbol(args.symbol)
    names = args.timeframes.split(",") if args.timeframes else settings.timeframes.names
    tfs = sorted({Timeframe.parse(n) for n in names})
    base = tfs[0]
    for tf in tfs[1:]:
        if not base.divides(tf):
            raise DataError(f"cannot derive {tf} from {base}; choose timeframes that nest")
    start = parse_date_ms(args.start) if args.start else DEFAULT_START_MS
    candles, _ = synth_market(args.days, timeframe=base.name, seed=args.seed, start_ms=start)
    if len(candles) == 0:
        raise DataError(f"--days {args.days} is shorter than one {base} candle")
    store = open_store(settings)
    try:
        for tf in tfs:
            series = candles if tf == base else resample(candles, base, tf)
            key = SeriesKey("synthetic", symbol, tf.name)
            written = store.candles.write(key, series)
            console.print(f"✓ {key}: {len(series):,} candles ({written:,} new or changed), "
                          f"{fmt_ms(int(series.open_time[0]))} .. "
                          f"{fmt_ms(int(series.open_time[-1]))}, seed {args.seed}")
    finally:
        store.close()
    return 0


def resample_(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    exchange = args.exchange or settings.exchange.name
    symbol = parse_symbol(args.symbol)
    source = Timeframe.parse(args.source)
    store = open_store(settings)
    try:
        src_key = SeriesKey(exchange, symbol, source.name)
        candles = store.candles.load(src_key)
        if len(candles) == 0:
            raise InsufficientDataError(f"no {src_key} candles stored; import or download first")
        for name in args.to.split(","):
            target = Timeframe.parse(name)
            out = resample(candles, source, target)
            written = store.candles.write(SeriesKey(exchange, symbol, target.name), out)
            console.print(f"✓ {exchange} {symbol} {source} -> {target}: {len(out):,} complete "
                          f"candles ({written:,} new or changed)")
    finally:
        store.close()
    return 0


def status(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = open_store(settings)
    try:
        rows = store.candles.status()
    finally:
        store.close()
    if args.symbol:
        symbol = parse_symbol(args.symbol)
        rows = [r for r in rows if r.key.symbol == symbol]
    if not rows:
        console.print("no candles stored yet: try `tradeloop data import ../shared/data` "
                      "or `tradeloop data synth`")
        return 0
    table = Table(title="Stored candles", title_justify="left")
    for col in ("exchange", "symbol", "timeframe", "first (UTC)", "last (UTC)", "rows", "gaps",
                "missing"):
        table.add_column(col, justify="right" if col in ("rows", "gaps", "missing") else "left")
    for r in rows:
        table.add_row(r.key.exchange, r.key.symbol, r.key.timeframe, fmt_ms(r.first_open),
                      fmt_ms(r.last_open), f"{r.rows:,}", str(r.gaps), f"{r.missing:,}")
    console.print(table)
    console.print(f"{len(rows)} series, {sum(r.rows for r in rows):,} candles")
    return 0
