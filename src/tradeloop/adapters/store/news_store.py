"""NewsStore: the ``news`` table. Items are stored once (by id/URL and by normalised title);
scores are written with the model id and revision that made them; the feature path reads
the scored items of one symbol and one model with a trustworthy publication time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, insert, or_, select, update

from tradeloop.adapters.store.schema import NewsRow
from tradeloop.domain.news import NewsItem, Sentiment, normalise_title
from tradeloop.domain.timestamps import ms_of, ts

CHUNK = 500


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

    def add(self, items: list[NewsItem]) -> tuple[int, int]:
        """Store the new items; returns (added, duplicates)."""
        fresh: dict[str, NewsItem] = {}
        keys: set[str] = set()
        for item in items:
            key = normalise_title(item.title)
            if not key or item.uid in fresh or key in keys:
                continue
            fresh[item.uid] = item
            keys.add(key)
        added = 0
        with self.engine.begin() as conn:
            uids, titles = list(fresh), list(keys)
            known_uids: set[str] = set()
            known_titles: set[str] = set()
            for i in range(0, max(len(uids), 1), CHUNK):
                rows = conn.execute(select(NewsRow.uid, NewsRow.title_key).where(or_(
                    NewsRow.uid.in_(uids[i:i + CHUNK]),
                    NewsRow.title_key.in_(titles[i:i + CHUNK])))).all()
                known_uids.update(r.uid for r in rows)
                known_titles.update(r.title_key for r in rows)
            new = [i for i in fresh.values() if i.uid not in known_uids
                   and normalise_title(i.title) not in known_titles]
            if new:
                conn.execute(insert(NewsRow), [{
                    "source": i.source, "uid": i.uid, "url": i.url, "title": i.title,
                    "title_key": normalise_title(i.title)[:500], "summary": i.summary,
                    "published_at": ts(i.published_ms) if i.published_ms is not None else None,
                    "fetched_at": ts(i.fetched_ms), "symbols": _symbols(i.symbols)}
                    for i in new])
                added = len(new)
        return added, len(items) - added

    def unscored(self, limit: int = 1000, model: str | None = None) -> list[tuple[int, str]]:
        """(id, title) of items without a score (by ``model``, when given), oldest first."""
        q = select(NewsRow.id, NewsRow.title)
        q = q.where(NewsRow.sentiment.is_(None) if model is None else or_(
            NewsRow.sentiment.is_(None), NewsRow.model != model))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(NewsRow.id).limit(limit)).all()
        return [(r.id, r.title) for r in rows]

    def score(self, scores: list[tuple[int, Sentiment]], model: str, revision: str,
              now_ms: int) -> None:
        with self.engine.begin() as conn:
            for nid, s in scores:
                conn.execute(update(NewsRow).where(NewsRow.id == nid).values(
                    sentiment=s.score, sentiment_label=s.label, p_positive=s.positive,
                    p_negative=s.negative, p_neutral=s.neutral, model=model,
                    model_revision=revision, scored_at=ts(now_ms)))

    def series(self, symbol: str, model: str, start_ms: int | None = None,
               end_ms: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(published ms, sentiment) of ``symbol``'s items scored by ``model`` with a
        publication time in ``[start, end)``, in time order."""
        q = select(NewsRow.published_at, NewsRow.sentiment).where(
            NewsRow.symbols.contains(f",{symbol},"), NewsRow.model == model,
            NewsRow.published_at.is_not(None), NewsRow.sentiment.is_not(None))
        if start_ms is not None:
            q = q.where(NewsRow.published_at >= ts(start_ms))
        if end_ms is not None:
            q = q.where(NewsRow.published_at < ts(end_ms))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(NewsRow.published_at)).all()
        return (np.array([ms_of(r.published_at) for r in rows], dtype=np.int64),
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

    def newest(self, symbol: str | None = None) -> int | None:
        """The newest publication time (ms) of a scored item (of ``symbol``)."""
        q = select(func.max(NewsRow.published_at)).where(NewsRow.sentiment.is_not(None))
        if symbol is not None:
            q = q.where(NewsRow.symbols.contains(f",{symbol},"))
        with self.engine.connect() as conn:
            value = conn.execute(q).scalar_one()
        return ms_of(value) if value is not None else None

    def count(self, *, undated: bool = False) -> int:
        q = select(func.count()).select_from(NewsRow)
        if undated:
            q = q.where(NewsRow.published_at.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())


def _symbols(symbols: tuple[str, ...]) -> str:
    return f",{','.join(symbols)}," if symbols else ","
