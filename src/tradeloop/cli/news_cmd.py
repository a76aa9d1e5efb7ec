"""``tradeloop news fetch|import|score|status``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from tradeloop.app import open_store, wall_clock
from tradeloop.app.news import (
    NewsRound,
    fetch_news,
    headlines,
    import_news,
    news_status,
    score_pending,
)
from tradeloop.cli.common import console, err_console, fmt_ms, settings_from
from tradeloop.domain.errors import ConfigError

EXIT_PARTIAL = 3
IMPORT_HELP = """CSV columns (header row, any order): published_at (ISO-8601 with a time zone,
e.g. 2024-03-01T12:30:00Z, or epoch ms; empty: kept, never a feature), title, and optionally
url, source (default: the file name), summary, symbols (';'-separated configured symbols;
empty: found in the title by news.aliases). Bad rows are listed with their line and reason;
the good ones are stored. Duplicates (same URL or same normalised title) are skipped."""


def register(groups: Any) -> None:
    p = groups.add_parser("news", help="fetch, import, score and inspect news headlines")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    f = sub.add_parser("fetch", help="read every configured feed once, store and score")
    f.add_argument("--no-score", action="store_true", help="store only (score later)")
    f.set_defaults(func=fetch)
    i = sub.add_parser("import", help="import historical headlines from CSV files",
                       description=IMPORT_HELP)
    i.add_argument("paths", nargs="+", type=Path, metavar="FILE.csv")
    i.add_argument("--no-score", action="store_true", help="store only (score later)")
    i.set_defaults(func=import_)
    s = sub.add_parser("score", help="score the stored headlines not scored by the "
                                     "configured sentiment model")
    s.set_defaults(func=score)
    t = sub.add_parser("status", help="sources, counts, freshness and the newest headlines")
    t.add_argument("--symbol", default=None)
    t.add_argument("--limit", type=int, default=10, help="headlines shown (default 10)")
    t.set_defaults(func=status)


def _report(r: NewsRound, what: str) -> int:
    console.print(f"✓ {what}: {r.items} items, {r.added} new, {r.duplicates} duplicates"
                  + (f" ({r.requests})" if r.requests else ""))
    for source, error in r.errors.items():
        err_console.print(f"✗ {source}: {error}")
    for line in r.rejected[:50]:
        err_console.print(f"✗ rejected {line}")
    if len(r.rejected) > 50:
        err_console.print(f"✗ ... and {len(r.rejected) - 50} more rejected rows")
    if r.score_error:
        err_console.print(f"✗ not scored: {r.score_error}")
    elif r.scored:
        console.print(f"✓ scored {r.scored} headlines")
    return EXIT_PARTIAL if r.errors or r.rejected or r.score_error else 0


def fetch(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not settings.news.configured:
        raise ConfigError("no news source configured: add news.feeds (RSS/Atom URLs) or "
                          "news.cryptopanic.enabled: true to the config file")
    store = open_store(settings)
    try:
        return _report(fetch_news(settings, store, wall_clock(), score=not args.no_score),
                       "fetched")
    finally:
        store.close()


def import_(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = open_store(settings)
    code = 0
    try:
        for path in args.paths:
            r = import_news(settings, store, path, wall_clock(), score=not args.no_score)
            code = max(code, _report(r, f"imported {path}"))
    finally:
        store.close()
    return code


def score(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = open_store(settings)
    try:
        done, error = score_pending(settings, store, wall_clock())
    finally:
        store.close()
    console.print(f"✓ scored {done} headlines with {settings.news.sentiment.model}")
    if error:
        err_console.print(f"✗ {error}")
        return 1
    return 0


def status(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = open_store(settings)
    try:
        st = news_status(settings, store, wall_clock().now_ms())
        heads = headlines(store, args.symbol, args.limit)
    finally:
        store.close()
    console.print(f"news: {'configured' if st['configured'] else 'no source configured'}; "
                  f"sentiment model {st['model']}; model inputs "
                  f"{'include' if st['features_on'] else 'exclude'} sentiment "
                  f"(model.features.sentiment)")
    console.print(f"{st['items']:,} headlines stored ({st['undated']:,} without a trustworthy "
                  f"time), {st['unscored']:,} not scored by {st['model']}")
    table = Table(title="Sources", title_justify="left")
    for col in ("source", "items", "scored", "newest (UTC)"):
        table.add_column(col)
    for s in st["sources"]:
        table.add_row(s["source"], f"{s['items']:,}", f"{s['scored']:,}",
                      f"{s['newest']:%Y-%m-%d %H:%M}" if s["newest"] else "—")
    console.print(table)
    for symbol, v in st["symbols"].items():
        newest = v["newest_scored_ms"]
        console.print(f"  {symbol}: newest scored {fmt_ms(newest) if newest else '—'} "
                      f"({'fresh' if v['fresh'] else 'stale'}: within "
                      f"{st['fresh_hours']:g} h)")
    if heads:
        h = Table(title="Newest headlines", title_justify="left")
        for col in ("published (UTC)", "symbols", "sentiment", "title"):
            h.add_column(col)
        for r in heads:
            h.add_row(f"{r['published']:%Y-%m-%d %H:%M}" if r["published"] else "—",
                      r["symbols"] or "—",
                      f"{r['sentiment']:+.2f} {r['label']}" if r["sentiment"] is not None
                      else "—", r["title"])
        console.print(h)
    return 0
