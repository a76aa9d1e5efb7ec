"""NewsStore: the ``news`` table. Items are stored once (by id/URL and by normalised title);
scores are written with the model id and revision that made them; the feature path reads
the scored items of one symbol and one model by when they were available (a fetched item:
the latest of published, fetched and scored; an imported one: published)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, case, func, or_, select, update

from tradeloop.adapters.store.schema import NewsRow
from tradeloop.domain.news import NewsItem, Sentiment, normalise_title
from tradeloop.domain.timestamps import ms_of, ts


@dataclass(frozen=True)
class SourceStatus:
    """One source's items: how many, how many scored, the newest publication time."""

    source: str
    items: int
    scored: int
    newest: datetime | None


class NewsStore:
    """The ``news`` table on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, items: list[NewsItem], *, historical: bool = False) -> tuple[int, int]:
        """Store the new items; returns (added, duplicates). A fetched item is available
        from when it was fetched (and scored); a ``historical`` one (an import) from when it
        was published. Safe beside another writer: a row someone else stored first is a
        duplicate, never an error."""
        rows: dict[str, dict[str, Any]] = {}
        keys: set[str] = set()
        for i in items:
            key = title_key(i.title)
            if not key or i.uid in rows or key in keys:
                continue
            keys.add(key)
            available = None if i.published_ms is None else \
                i.published_ms if historical else max(i.published_ms, i.fetched_ms)
            rows[i.uid] = {
                "source": i.source, "uid": i.uid, "url": i.url, "title": i.title,
                "title_key": key, "summary": i.summary,
                "published_at": ts(i.published_ms) if i.published_ms is not None else None,
                "fetched_at": ts(i.fetched_ms),
                "available_at": ts(available) if available is not None else None,
                "historical": historical, "symbols": _symbols(i.symbols)}
        added = 0
        with self.engine.begin() as conn:
            insert_new = _insert_ignoring_duplicates(self.engine)
            for row in rows.values():  # a skipped row returns nothing
                added += conn.execute(insert_new, row).first() is not None
        return added, len(items) - added

    def unscored(self, limit: int = 1000, model: str | None = None) -> list[tuple[int, str]]:
        """(id, title) of items without a score (by ``model``, when given), oldest first."""
        q = select(NewsRow.id, NewsRow.title).where(_unscored(model))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(NewsRow.id).limit(limit)).all()
        return [(r.id, r.title) for r in rows]

    def score(self, scores: list[tuple[int, Sentiment]], model: str, revision: str,
              now_ms: int) -> None:
        """Write the scores; a fetched item is available from now on (with its score)."""
        scored = ts(now_ms)
        later = case((NewsRow.historical.is_(False) & NewsRow.available_at.is_not(None)
                      & (NewsRow.available_at < scored), scored), else_=NewsRow.available_at)
        with self.engine.begin() as conn:
            for nid, s in scores:
                conn.execute(update(NewsRow).where(NewsRow.id == nid).values(
                    sentiment=s.score, sentiment_label=s.label, p_positive=s.positive,
                    p_negative=s.negative, p_neutral=s.neutral, model=model,
                    model_revision=revision, scored_at=scored, available_at=later))

    def series(self, symbol: str, model: str, start_ms: int | None = None,
               end_ms: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(available ms, sentiment) of ``symbol``'s items scored by ``model`` that became
        available in ``[start, end)``, in time order: what a live session had then."""
        q = select(NewsRow.available_at, NewsRow.sentiment).where(
            NewsRow.symbols.contains(f",{symbol},"), NewsRow.model == model,
            NewsRow.available_at.is_not(None), NewsRow.sentiment.is_not(None))
        if start_ms is not None:
            q = q.where(NewsRow.available_at >= ts(start_ms))
        if end_ms is not None:
            q = q.where(NewsRow.available_at < ts(end_ms))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(NewsRow.available_at, NewsRow.id)).all()
        return (np.array([ms_of(r.available_at) for r in rows], dtype=np.int64),
                np.array([r.sentiment for r in rows], dtype=np.float64))

    def headlines(self, symbol: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest items (of ``symbol``), with their scores."""
        q = select(NewsRow.__table__)
        if symbol is not None:
            q = q.where(NewsRow.symbols.contains(f",{symbol},"))
        q = q.order_by(func.coalesce(NewsRow.published_at, NewsRow.fetched_at).desc(),
                       NewsRow.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{"published": r.published_at, "source": r.source, "title": r.title,
                 "symbols": r.symbols.strip(",").replace(",", ", "),
                 "sentiment": r.sentiment, "label": r.sentiment_label, "model": r.model,
                 "url": r.url} for r in rows]

    def sources(self) -> list[SourceStatus]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(
                NewsRow.source, func.count(), func.count(NewsRow.sentiment),
                func.max(NewsRow.published_at)).group_by(NewsRow.source)
                .order_by(NewsRow.source)).all()
        return [SourceStatus(r[0], int(r[1]), int(r[2]), r[3]) for r in rows]

    def newest(self, symbol: str, model: str, before_ms: int) -> int | None:
        """When the newest item of ``symbol`` scored by ``model`` and available before
        ``before_ms`` became available (ms)."""
        q = select(func.max(NewsRow.available_at)).where(
            NewsRow.sentiment.is_not(None), NewsRow.model == model,
            NewsRow.symbols.contains(f",{symbol},"), NewsRow.available_at < ts(before_ms))
        with self.engine.connect() as conn:
            value = conn.execute(q).scalar_one()
        return ms_of(value) if value is not None else None

    def window(self, symbol: str, model: str, since_ms: int, until_ms: int
               ) -> tuple[int, float | None]:
        """(items, mean score) of ``symbol`` scored by ``model`` that became available in
        ``[since, until)``."""
        with self.engine.connect() as conn:
            n, mean = conn.execute(select(func.count(), func.avg(NewsRow.sentiment)).where(
                NewsRow.symbols.contains(f",{symbol},"), NewsRow.model == model,
                NewsRow.sentiment.is_not(None), NewsRow.available_at >= ts(since_ms),
                NewsRow.available_at < ts(until_ms))).one()
        return int(n), float(mean) if mean is not None else None

    def count(self, *, undated: bool = False, unscored_by: str | None = None) -> int:
        """Stored items (``undated``: without a trustworthy time; ``unscored_by``: not
        scored by that model)."""
        q = select(func.count()).select_from(NewsRow)
        if undated:
            q = q.where(NewsRow.published_at.is_(None))
        if unscored_by is not None:
            q = q.where(_unscored(unscored_by))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())


def _unscored(model: str | None) -> Any:
    """Items without a score (by ``model``, when given)."""
    return NewsRow.sentiment.is_(None) if model is None else or_(
        NewsRow.sentiment.is_(None), NewsRow.model != model)


def title_key(title: str) -> str:
    """The stored duplicate key of a title (normalised, at most the column's length)."""
    return normalise_title(title)[:500]


def _insert_ignoring_duplicates(engine: Engine) -> Any:
    """An INSERT that skips a row whose id or title is stored already (SQLite, PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(NewsRow).on_conflict_do_nothing().returning(NewsRow.id)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(NewsRow).on_conflict_do_nothing().returning(NewsRow.id)


def _symbols(symbols: tuple[str, ...]) -> str:
    return f",{','.join(symbols)}," if symbols else ","
