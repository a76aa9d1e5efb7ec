"""Candle storage against real SQLite and PostgreSQL databases."""

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import insert, inspect, text

from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.adapters.store import database
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.adapters.store.schema import (
    ConfidenceHistoryRow,
    ErrorLogRow,
    PositionRow,
    RetrainingHistoryRow,
)
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import StorageError

KEY = SeriesKey("binance", "BTC/USDT", "1m")


def test_migrations_create_every_operator_table(store: CandleStore) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert {"trade_outcomes", "retraining_history", "learning_states", "confidence_history",
            "error_log", "positions", "orders", "predictions", "health_checks", "deployments",
            "alerts", "candle_data", "candle_series", "candle_gaps"} <= names
    assert "candles" in inspect(store.engine).get_view_names()
    result = database.check(store.engine)
    assert result.ok, result.lines()
    before, after = database.upgrade(store.engine)  # idempotent
    assert before == after == database.head_revision()


def test_upsert_is_idempotent_and_reads_ranges(store: CandleStore) -> None:
    candles, _ = synth_market(2, seed=1)
    assert store.write(KEY, candles) == len(candles)
    assert store.write(KEY, candles) == 0  # identical rows are not rewritten
    back = store.load(KEY)
    for f in ("open_time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(back, f), getattr(candles, f))
    t = candles.open_time
    part = store.load(KEY, int(t[100]), int(t[200]))
    assert part.open_time.tolist() == t[100:200].tolist()
    assert store.last_open_time(KEY) == int(t[-1])
    assert store.load(SeriesKey("binance", "NOPE/USDT", "1m")).open_time.size == 0

    revised = candles.take(slice(10, 12))
    revised = type(revised)(revised.open_time, revised.open, revised.high * 1.01, revised.low,
                            revised.close, revised.volume)
    assert store.write(KEY, revised) == 2  # exchange revisions replace the stored candle
    assert store.count(KEY) == len(candles)


def test_gaps_are_recorded_and_status_reports_them(store: CandleStore) -> None:
    candles, _ = synth_market(1, seed=2)
    keep = np.ones(len(candles), dtype=bool)
    keep[100:103] = False
    keep[500] = False
    store.write(KEY, candles.take(keep))
    assert [(g.missing) for g in store.gaps(KEY)] == [3, 1]
    (st,) = store.status()
    assert (st.rows, st.gaps, st.missing) == (len(candles) - 4, 2, 4)
    store.write(KEY, candles)  # the gaps are filled by real candles later
    assert store.gaps(KEY) == []


def test_seed_sql_runs_on_the_operator_tables(store: CandleStore) -> None:
    store.write(KEY, synth_market(0.1, seed=3)[0])
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.engine.begin() as conn:
        conn.execute(insert(RetrainingHistoryRow).values(
            symbol="BTC/USDT", timeframe="1h", trigger_reason="loss_immediate", triggered_at=now,
            validation_confidence=0.61, status="done", promoted=True))
        conn.execute(insert(ConfidenceHistoryRow).values(
            timestamp=now, symbol="BTC/USDT", confidence_score=0.7, direction="up",
            mode="LEARNING"))
        conn.execute(insert(ErrorLogRow).values(timestamp=now, error_type="NetworkError",
                                                message="timeout"))
        conn.execute(insert(PositionRow).values(
            symbol="BTC/USDT", mode="paper", side="long", quantity=1, entry_price=1,
            entry_time=now, status="closed", pnl=12.5))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT symbol, COUNT(*) FROM candles GROUP BY symbol")).all() \
            == [("BTC/USDT", 144)]
        rows = conn.execute(text("SELECT trigger_reason, COUNT(*) FROM retraining_history "
                                 "GROUP BY trigger_reason")).all()
        assert rows == [("loss_immediate", 1)]
        assert conn.execute(text("SELECT SUM(pnl) FROM positions WHERE status = 'closed'")
                            ).scalar() == 12.5
        assert conn.execute(text("SELECT timestamp, error_type, message FROM error_log ORDER BY "
                                 "timestamp DESC LIMIT 20")).all()[0][1:] == ("NetworkError",
                                                                              "timeout")
        if store.engine.url.get_backend_name() == "sqlite":  # the guide's SQLite date functions
            n, avg = conn.execute(text(
                "SELECT COUNT(*), AVG(validation_confidence) FROM retraining_history "
                "WHERE triggered_at > datetime('now', '-6 hours')")).one()
            assert (n, avg) == (1, 0.61)
            assert conn.execute(text(
                "SELECT AVG(confidence_score), MAX(confidence_score) FROM confidence_history "
                "WHERE symbol = 'BTC/USDT' AND timestamp > datetime('now', '-24 hours')")
            ).one() == (0.7, 0.7)


def test_failed_write_keeps_what_was_stored(sqlite_store: CandleStore) -> None:
    good, _ = synth_market(0.5, seed=4)
    sqlite_store.write(KEY, good)
    broken = good.take(slice(0, 50))
    broken.close[25] = np.nan  # SQLite stores NaN as NULL: the NOT NULL constraint fails
    overlap = type(good)(broken.open_time + 0, broken.open * 2, broken.high * 2, broken.low,
                         broken.close, broken.volume)
    with pytest.raises(StorageError, match="writing candles for binance BTC/USDT 1m"):
        sqlite_store.write(KEY, overlap)
    back = sqlite_store.load(KEY)
    np.testing.assert_array_equal(back.open, good.open)  # nothing of the failed batch landed


def test_read_cache_is_used_and_never_stale(store: CandleStore) -> None:
    candles, _ = synth_market(30, seed=6)  # 43,200 candles: large enough to be cached
    store.write(KEY, candles)
    first = store.load(KEY)
    np.testing.assert_array_equal(first.close, candles.close)
    if store.cache is not None:
        (path,) = store.cache.root.glob("*.npy")
        assert store.load(KEY, int(candles.open_time[5]), int(candles.open_time[9])
                          ).open_time.tolist() == candles.open_time[5:9].tolist()
    revised = candles.take(slice(100, 101))
    revised = type(revised)(revised.open_time, revised.open, revised.high * 1.5, revised.low,
                            revised.close, revised.volume)
    store.write(KEY, revised)  # another writer (or process) changes the series
    again = store.load(KEY)
    assert again.high[100] == candles.high[100] * 1.5
    if store.cache is not None:
        (newer,) = store.cache.root.glob("*.npy")
        assert newer != path  # the old version's file is gone
        newer.write_bytes(b"garbage")  # a corrupt cache file is ignored and rebuilt
        assert store.load(KEY).high[100] == candles.high[100] * 1.5
