"""Rule-backtest speed through the one engine against public backtesters, same run, same bars
-> benchmarks/results/bench_backtest.json.

A moving-average cross (10/30) on four years of real BTC/USDT 1h candles (2020-2023) through
``tradeloop backtest``'s engine (the runner, SimBroker, risk checks, the gate, and every row
written to SQLite in bulk), through backtesting.py 0.6.6 and through vectorbt (warm: its numba
compile on a first call is reported apart). Each is timed on its loop over the bars (ours:
the replay, the final close and the flush of every row, after the market data was opened and
the averages precomputed — about a millisecond; backtesting.py: ``Backtest.run``, which
computes its indicators; vectorbt: ``Portfolio.from_signals`` + total return), best of five.
``trades_equal``: the same entries and exits as backtesting.py (its final close sells at the
last bar's open, ours at its close; see tests/support/ma_cross_peers.py).
Goal (issue 14): ratio >= 1.0.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_backtest.py
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks.common import SHARED_DATA, report
from tests.support import ma_cross_peers as peers

START, END = "2020-01-01", "2024-01-01"
REPEATS = 5


def main() -> None:
    candles = peers.load_year(SHARED_DATA / "binance_BTC_USDT_1h.csv", START, END)
    root = Path(tempfile.mkdtemp(prefix="bench_backtest-"))
    try:
        settings = peers.project(root, candles)
        ours = [peers.ours(settings, candles) for _ in range(REPEATS)]
        with contextlib.redirect_stderr(io.StringIO()):  # backtesting.py's progress bar
            theirs = [peers.backtesting_py(candles) for _ in range(REPEATS)]
        began = time.perf_counter()
        peers.vectorbt_run(candles)  # numba compiles on the first call
        vbt_first = time.perf_counter() - began
        vbt = [peers.vectorbt_run(candles) for _ in range(REPEATS)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    best, peer, v = (min(runs, key=lambda r: r.seconds) for runs in (ours, theirs, vbt))
    trades_equal = best.entries == peer.entries and best.exits[:-1] == peer.exits[:-1] \
        and best.exits[-1][0] - 3_600_000 == peer.exits[-1][0]
    report("bench_backtest", {
        "strategy": f"ma_cross {peers.FAST}/{peers.SLOW}, fee {peers.FEE_BPS:g} bps",
        "data": f"binance BTC/USDT 1h {START} .. {END}",
        "bars": len(candles),
        "trades": len(best.entries),
        "bars_per_s": round(best.bars_per_s),
        "peer": "backtesting.py 0.6.6",
        "peer_bars_per_s": round(peer.bars_per_s),
        "ratio": round(best.bars_per_s / peer.bars_per_s, 3),
        "trades_equal": trades_equal,
        "total_return": round(best.total_return, 6),
        "peer_total_return": round(peer.total_return, 6),
        "vectorbt_bars_per_s": round(v.bars_per_s),
        "vectorbt_first_call_seconds": round(vbt_first, 2),
        "vectorbt_total_return": round(v.total_return, 6),
        "repeats": REPEATS,
        "goal": "ratio >= 1.0",
    })


if __name__ == "__main__":
    main()
