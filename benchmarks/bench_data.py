"""Data-layer benchmark -> benchmarks/results/bench_data.json.

- import_candles_per_s: end-to-end `data import` rate (gzip CSV parse, validation, SQLite
  upsert in WAL mode, gap bookkeeping) over the 1m and 5m files of ../shared/data.
- write_candles_per_s: the SQLite upsert alone on the same candles.
- load_1m_seconds: loading 1,000,000 stored candles into arrays through the store, as the
  system does it (the columnar cache is current); load_1m_cold_seconds: the same with no cache
  file, straight from SQL (this also builds the cache).
- resample_candles_per_s: 1m candles aggregated per second, averaged over 5m..1d targets.
Goals (issue 2): import >= 200,000 candles/s; load 1M candles <= 1 s.
Run: .venv/bin/python benchmarks/bench_data.py   (OMP_NUM_THREADS=1)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED_DATA, report
from tradeloop.adapters.market_data import csv_files
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.adapters.store import database
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.series import resample
from tradeloop.domain.timeframes import Timeframe

NOW = 2**62


def fresh_store(folder: Path, cache: bool = True) -> CandleStore:
    engine = database.make_engine(f"sqlite:///{folder / 'trading.db'}")
    database.upgrade(engine)
    return CandleStore(engine, folder / "cache" if cache else None)


def bench_import(work: Path) -> dict[str, float]:
    files = sorted(p for p in SHARED_DATA.glob("binance_*_USDT_[15]m.csv.gz"))
    store = fresh_store(work / "import")
    n = 0
    start = time.perf_counter()
    for path in files:
        n += csv_files.import_file(store, path, now_ms=NOW).report.accepted
    import_s = time.perf_counter() - start
    # The upsert alone, on the same candles, into another fresh database.
    loaded = [(k.key, store.load(k.key)) for k in store.status()]
    target = fresh_store(work / "write")
    start = time.perf_counter()
    for key, candles in loaded:
        target.write(key, candles, refresh_gaps=False)
    write_s = time.perf_counter() - start
    return {"import_files": len(files), "import_candles": n,
            "import_seconds": round(import_s, 3),
            "import_candles_per_s": round(n / import_s),
            "write_candles_per_s": round(n / write_s)}


def bench_load_and_resample(work: Path) -> dict[str, float]:
    n = 1_000_000
    candles, _ = synth_market(n / 1440, seed=1)
    candles = candles.take(slice(0, n))
    key = SeriesKey("synthetic", "SYN/USDT", "1m")
    store = fresh_store(work / "load")
    store.write(key, candles)
    assert store.cache is not None
    shutil.rmtree(store.cache.root, ignore_errors=True)
    start = time.perf_counter()
    cold = store.load(key)
    cold_s = time.perf_counter() - start
    warm_runs = []
    for _ in range(5):
        start = time.perf_counter()
        warm = store.load(key)
        warm_runs.append(time.perf_counter() - start)
    uncached = CandleStore(store.engine, None)
    start = time.perf_counter()
    uncached.load(key)
    sql_s = time.perf_counter() - start
    assert len(cold) == len(warm) == n
    src = Timeframe.parse("1m")
    rates = []
    for name in ("5m", "15m", "1h", "4h", "1d"):
        start = time.perf_counter()
        resample(warm, src, Timeframe.parse(name))
        rates.append(n / (time.perf_counter() - start))
    return {"load_candles": n,
            "load_1m_seconds": round(sorted(warm_runs)[len(warm_runs) // 2], 4),
            "load_1m_cold_seconds": round(cold_s, 3),
            "load_1m_sql_only_seconds": round(sql_s, 3),
            "resample_candles_per_s": round(sum(rates) / len(rates))}


def main() -> int:
    if not SHARED_DATA.exists():
        print(f"bench_data: {SHARED_DATA} not found; the import figure needs ../shared/data")
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench_data_"))
    try:
        result = {**bench_import(work), **bench_load_and_resample(work),
                  "goals": {"import_candles_per_s": ">= 200000", "load_1m_seconds": "<= 1.0"}}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("bench_data", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
