"""Candle persistence: idempotent bulk upserts, fast range reads, gap bookkeeping, status.

Candles live in ``candle_data`` keyed on (series_id, open_time); ``candle_series`` maps
(exchange, symbol, timeframe) to the id and carries a version bumped by every write that
changes the series. Bulk writes use the driver directly (SQLite ``executemany`` upserts;
PostgreSQL ``COPY`` into a temporary table, then ``INSERT ... ON CONFLICT``). Large reads go
through the versioned columnar cache (:mod:`candle_cache`) when one is configured.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from tradeloop.adapters.store.candle_cache import ROW_DTYPE, CandleCache, slice_rows
from tradeloop.adapters.store.database import (
    SQLITE_BULK_CACHE_KIB,
    SQLITE_CACHE_KIB,
    redact_url,
)
from tradeloop.adapters.store.schema import CandleDataRow, CandleGapRow, CandleSeriesRow
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.errors import StorageError
from tradeloop.domain.series import Gap, find_gaps
from tradeloop.domain.timeframes import Timeframe

_VALUES = ("open", "high", "low", "close", "volume")
_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in _VALUES)
# the SQL below is built from constant column names only; every value is a bound parameter
_SQLITE_UPSERT = (
    "INSERT INTO candle_data (series_id, open_time, open, high, low, close, volume) "  # noqa: S608
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_id, open_time) DO UPDATE SET "
    f"{_UPDATE} WHERE " + " OR ".join(f"candle_data.{c} IS NOT excluded.{c}" for c in _VALUES)
)
_PG_UPSERT = (
    "INSERT INTO candle_data (series_id, open_time, open, high, low, close, volume) "  # noqa: S608
    "SELECT %s, open_time, open, high, low, close, volume FROM candles_in "
    f"ON CONFLICT (series_id, open_time) DO UPDATE SET {_UPDATE} WHERE "
    + " OR ".join(f"candle_data.{c} IS DISTINCT FROM excluded.{c}" for c in _VALUES)
)
_SELECT = ("SELECT open_time, open, high, low, close, volume FROM candle_data "
           "WHERE series_id = {p} AND open_time >= {p} AND open_time < {p} ORDER BY open_time")
_FAR = 2**62
# A cold read expected to return more rows than this builds the series' cache file.
CACHE_MIN_ROWS = 20_000
FETCH_CHUNK = 50_000


@dataclass(frozen=True)
class SeriesStatus:
    """Coverage of one stored series, for ``tradeloop data status``."""

    key: SeriesKey
    first_open: int
    last_open: int
    rows: int
    gaps: int
    missing: int


class CandleStore:
    """Reads and writes candles through one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, cache_dir: Path | None = None) -> None:
        self.engine = engine
        self._pg = engine.url.get_backend_name() == "postgresql"
        self.cache = CandleCache(cache_dir) if cache_dir is not None else None
        self._ids: dict[SeriesKey, int] = {}

    # -- series ids -----------------------------------------------------------------------
    def series_id(self, key: SeriesKey, *, create: bool = False) -> int | None:
        """The id of a series; with ``create`` it is added when missing."""
        if key in self._ids:
            return self._ids[key]
        where = (CandleSeriesRow.exchange == key.exchange, CandleSeriesRow.symbol == key.symbol,
                 CandleSeriesRow.timeframe == key.timeframe)
        with self.engine.connect() as conn:
            found = conn.execute(select(CandleSeriesRow.id).where(*where)).scalar_one_or_none()
        if found is None and create:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(CandleSeriesRow).values(
                        exchange=key.exchange, symbol=key.symbol, timeframe=key.timeframe))
            except IntegrityError:
                pass  # created concurrently by another writer
            with self.engine.connect() as conn:
                found = conn.execute(select(CandleSeriesRow.id).where(*where)).scalar_one()
        if found is not None:
            self._ids[key] = int(found)
        return None if found is None else int(found)

    # -- writes ---------------------------------------------------------------------------
    def write(self, key: SeriesKey, candles: CandleArrays, *, refresh_gaps: bool = True) -> int:
        """Upsert validated candles in one transaction; returns rows inserted or changed.

        Either every row of the batch is stored or none is: a failure leaves what was stored
        before untouched. Rows identical to the stored ones are not rewritten.
        """
        if len(candles) == 0:
            return 0
        sid = self.series_id(key, create=True)
        assert sid is not None
        gc_was_enabled = gc.isenabled()
        gc.disable()  # hundreds of thousands of row tuples: no cycles, skip collector passes
        try:
            raw = self.engine.raw_connection()
            try:
                cur: Any = raw.cursor()
                if self._pg:
                    changed = self._copy_upsert(cur, sid, candles)
                else:
                    before = raw.driver_connection.total_changes  # type: ignore[union-attr]
                    cur.execute(f"PRAGMA cache_size={SQLITE_BULK_CACHE_KIB}")
                    try:
                        cur.executemany(_SQLITE_UPSERT, self._rows(sid, candles))
                    finally:
                        cur.execute(f"PRAGMA cache_size={SQLITE_CACHE_KIB}")
                    changed = raw.driver_connection.total_changes - before  # type: ignore[union-attr]
                if changed:
                    cur.execute("UPDATE candle_series SET version = version + 1 WHERE id = "  # noqa: S608 - placeholder
                                + ("%s" if self._pg else "?"), (sid,))
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                raw.close()
        except SQLAlchemyError as exc:
            raise StorageError(f"writing candles for {key} failed: {exc}") from None
        except Exception as exc:
            if exc.__class__.__module__.split(".")[0] in ("sqlite3", "psycopg"):
                raise StorageError(f"writing candles for {key} to "
                                   f"{redact_url(str(self.engine.url))} failed: {exc}") from None
            raise
        finally:
            if gc_was_enabled:
                gc.enable()
        if refresh_gaps:
            self.refresh_gaps(key)
        return int(changed)

    @staticmethod
    def _rows(sid: int, c: CandleArrays) -> Iterator[tuple[Any, ...]]:
        return zip([sid] * len(c), c.open_time.tolist(), c.open.tolist(), c.high.tolist(),
                   c.low.tolist(), c.close.tolist(), c.volume.tolist(), strict=True)

    @staticmethod
    def _copy_upsert(cur: Any, sid: int, c: CandleArrays) -> int:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS candles_in (open_time bigint, open float8, "
                    "high float8, low float8, close float8, volume float8) ON COMMIT DELETE ROWS")
        buf = io.StringIO()
        for row in zip(c.open_time.tolist(), *(getattr(c, f).tolist() for f in _VALUES),
                       strict=True):
            buf.write("\t".join(map(repr, row)) + "\n")
        with cur.copy("COPY candles_in FROM STDIN") as copy:
            copy.write(buf.getvalue())
        cur.execute(_PG_UPSERT, (sid,))
        return int(cur.rowcount)

    # -- reads ----------------------------------------------------------------------------
    def load(self, key: SeriesKey, start_ms: int | None = None, end_ms: int | None = None
             ) -> CandleArrays:
        """Candles with ``start_ms <= open_time < end_ms``, sorted."""
        sid = self.series_id(key)
        if sid is None:
            return CandleArrays.empty()
        try:
            return self._load(key, sid, start_ms, end_ms)
        except SQLAlchemyError as exc:
            raise StorageError(f"reading candles for {key} failed: {exc}") from None

    def _load(self, key: SeriesKey, sid: int, start_ms: int | None, end_ms: int | None
              ) -> CandleArrays:
        lo = -_FAR if start_ms is None else int(start_ms)
        hi = _FAR if end_ms is None else int(end_ms)
        ph = "%s" if self._pg else "?"
        raw = self.engine.raw_connection()
        try:
            cur: Any = raw.cursor()
            # One read transaction: the version and the rows come from the same snapshot.
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ" if self._pg else "BEGIN")
            cur.execute(f"SELECT version FROM candle_series WHERE id = {ph}",  # noqa: S608
                        (sid,))  # ``ph`` is the driver's placeholder; the id is bound
            version = int(cur.fetchone()[0])
            if self.cache is not None:
                cached = self.cache.get(sid, version)
                if cached is not None:
                    raw.rollback()
                    return slice_rows(cached, start_ms, end_ms)
            span = min(hi, _FAR // 2) - max(lo, -_FAR // 2)
            whole = self.cache is not None and (
                span // Timeframe.parse(key.timeframe).ms > CACHE_MIN_ROWS)
            cur.execute(_SELECT.format(p=ph), (sid, -_FAR, _FAR) if whole else (sid, lo, hi))
            # In chunks: a million rows as Python tuples would cost ~250 MB at the peak.
            chunks = []
            while rows := cur.fetchmany(FETCH_CHUNK):
                chunks.append(np.array(rows, dtype=ROW_DTYPE))
            raw.rollback()
        finally:
            raw.close()
        packed = np.concatenate(chunks) if chunks else np.empty(0, dtype=ROW_DTYPE)
        if whole and self.cache is not None:
            self.cache.put_rows(sid, version, packed)
        return slice_rows(packed, start_ms, end_ms)

    def last_open_time(self, key: SeriesKey) -> int | None:
        sid = self.series_id(key)
        if sid is None:
            return None
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(CandleDataRow.open_time))
                                 .where(CandleDataRow.series_id == sid)).scalar_one_or_none()
        return None if value is None else int(value)

    def open_times(self, key: SeriesKey) -> np.ndarray:
        sid = self.series_id(key)
        if sid is None:
            return np.empty(0, dtype=np.int64)
        raw = self.engine.raw_connection()
        try:
            cur: Any = raw.cursor()
            cur.execute("SELECT open_time FROM candle_data WHERE series_id = "  # noqa: S608
                        + ("%s" if self._pg else "?") + " ORDER BY open_time", (sid,))
            return np.fromiter((r[0] for r in cur), dtype=np.int64)
        finally:
            raw.close()

    def count(self, key: SeriesKey | None = None) -> int:
        stmt = select(func.count()).select_from(CandleDataRow)
        if key is not None:
            stmt = stmt.where(CandleDataRow.series_id == (self.series_id(key) or -1))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- gaps and status ------------------------------------------------------------------
    def refresh_gaps(self, key: SeriesKey) -> list[Gap]:
        """Recompute and store the gaps of one series."""
        sid = self.series_id(key)
        if sid is None:
            return []
        gaps = find_gaps(self.open_times(key), Timeframe.parse(key.timeframe))
        with self.engine.begin() as conn:
            conn.execute(delete(CandleGapRow).where(CandleGapRow.series_id == sid))
            if gaps:
                conn.execute(insert(CandleGapRow), [
                    {"series_id": sid, "first_missing": g.first_missing,
                     "last_missing": g.last_missing, "missing": g.missing} for g in gaps])
        return gaps

    def gaps(self, key: SeriesKey) -> list[Gap]:
        sid = self.series_id(key)
        if sid is None:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CandleGapRow.first_missing, CandleGapRow.last_missing, CandleGapRow.missing)
                .where(CandleGapRow.series_id == sid).order_by(CandleGapRow.first_missing)).all()
        return [Gap(int(a), int(b), int(n)) for a, b, n in rows]

    def status(self) -> list[SeriesStatus]:
        """Per series: first and last candle, rows, gaps and missing candles."""
        with self.engine.connect() as conn:
            series = {int(i): SeriesKey(e, s, t) for i, e, s, t in conn.execute(
                select(CandleSeriesRow.id, CandleSeriesRow.exchange, CandleSeriesRow.symbol,
                       CandleSeriesRow.timeframe))}
            spans = conn.execute(
                select(CandleDataRow.series_id, func.min(CandleDataRow.open_time),
                       func.max(CandleDataRow.open_time), func.count())
                .group_by(CandleDataRow.series_id)).all()
            gap_rows = conn.execute(
                select(CandleGapRow.series_id, func.count(), func.sum(CandleGapRow.missing))
                .group_by(CandleGapRow.series_id)).all()
        gaps = {int(s): (int(n), int(m or 0)) for s, n, m in gap_rows}
        out = [SeriesStatus(series[int(s)], int(lo), int(hi), int(n), *gaps.get(int(s), (0, 0)))
               for s, lo, hi, n in spans]
        return sorted(out, key=lambda st: (st.key.exchange, st.key.symbol,
                                           Timeframe.parse(st.key.timeframe).ms))

