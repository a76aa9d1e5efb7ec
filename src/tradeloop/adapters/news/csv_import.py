"""Historical headlines from a CSV file (``tradeloop news import``).

Columns (a header row; names are case-insensitive, order free):
``published_at`` (required; ISO-8601 with a time zone, e.g. ``2024-03-01T12:30:00Z``, or
epoch milliseconds; empty: kept without a time, never a feature), ``title`` (required),
``url``, ``source`` (default: the file's name), ``summary`` and ``symbols`` (``;``-separated,
each one of the configured symbols; empty: found in the title by the symbols' aliases).
A bad row is rejected with its line number and why; the good ones are kept.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from tradeloop.domain.errors import DataError
from tradeloop.domain.news import NewsItem, mentions

REQUIRED = ("published_at", "title")


def read_news_csv(path: Path, words: Mapping[str, Sequence[str]], fetched_ms: int
                  ) -> tuple[list[NewsItem], list[str]]:
    """(items, rejections as ``line N: why``) of ``path``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (found "
                        f"{', '.join(fields) or 'no header'}); see `tradeloop news import -h`")
    items: list[NewsItem] = []
    rejected: list[str] = []
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
               if isinstance(v, str)}
        try:
            items.append(_item(row, path.stem, words, fetched_ms))
        except ValueError as exc:
            rejected.append(f"line {n}: {exc}")
    return items, rejected


def _item(row: dict[str, str], default_source: str, words: Mapping[str, Sequence[str]],
          fetched_ms: int) -> NewsItem:
    title = row.get("title", "")
    if not title:
        raise ValueError("empty title")
    published = _time(row.get("published_at", ""))
    listed = [s.strip().upper() for s in row.get("symbols", "").split(";") if s.strip()]
    unknown = [s for s in listed if s not in words]
    if unknown:
        raise ValueError(f"symbol(s) {', '.join(unknown)} not configured (symbols: "
                         f"{', '.join(words)})")
    symbols = tuple(listed) if listed else mentions(f"{title} {row.get('summary', '')}", words)
    url = row.get("url", "")
    uid = url or "csv:" + hashlib.sha1(f"{title}|{published}".encode(),
                                       usedforsecurity=False).hexdigest()
    return NewsItem(row.get("source") or default_source, uid[:500], url[:1000], title[:500],
                    row.get("summary", "")[:2000], published, fetched_ms, symbols)


def _time(value: str) -> int | None:
    if not value:
        return None
    if value.isdigit():
        ms = int(value)
        if not 946_684_800_000 <= ms <= 4_102_444_800_000:  # 2000 .. 2100
            raise ValueError(f"published_at {value} is not epoch milliseconds")
        return ms
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"published_at {value!r} is not an ISO-8601 time") from None
    if dt.tzinfo is None:
        raise ValueError(f"published_at {value!r} has no time zone (write Z for UTC)")
    return int(dt.timestamp() * 1000)
