"""A backtest's result: metrics (one module computes them: ``domain/performance.py``) and the
files of ``data/backtests/<run>/`` (trades.csv, equity.csv, metrics.json)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.performance import Performance, evaluate
from tradeloop.domain.timeframes import Timeframe
from tradeloop.engine.engine import Engine


def performance(engine: Engine, series: Mapping[SeriesKey, CandleArrays],
                first_event: Mapping[SeriesKey, int], symbols: list[str], start_ms: int,
                end_ms: int, initial_balance: float) -> Performance:
    """Metrics of the engine's trades and equity curve, buy-and-hold of the symbols (on
    the finest timeframe with candles in the window) beside them."""
    curve = [(t, e) for t, e in engine.equity_curve if start_ms < t <= end_ms]
    # the curve runs from the window's start (the initial balance) to its end
    times = np.array([start_ms] + [t for t, _ in curve], dtype=np.int64)
    equity = np.array([initial_balance] + [e for _, e in curve])
    if len(times) < 2:
        times = np.array([start_ms, end_ms])
        equity = np.full(2, initial_balance)
    bh = []
    for s in symbols:
        for key in sorted((k for k in series if k.symbol == s),
                          key=lambda k: Timeframe.parse(k.timeframe)):
            c = series[key].take(slice(first_event[key], None))
            if len(c) > 1:
                bh.append(float(c.close[-1] / c.open[0] - 1.0))
                break
    trades = [t for t, _ in engine.trades]
    return evaluate(times, equity, trades, [r for _, r in engine.trades],
                    float(np.mean(bh)) if bh else 0.0, engine.risk.worst_drawdown)


def write(folder: Path, engine: Engine, perf: Performance, retraining: dict[str, int],
          run_id: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "trades.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["symbol", "entry_time", "exit_time", "quantity", "entry_price",
                    "exit_price", "fees", "pnl", "pnl_percent", "exit_reason", "confidence"])
        for t, _ in engine.trades:
            w.writerow([t.symbol, t.entry_time_ms, t.exit_time_ms, repr(t.quantity),
                        repr(t.entry_price), repr(t.exit_price), repr(t.fees), repr(t.pnl),
                        repr(t.pnl_percent), t.exit_reason, repr(t.confidence)])
    with open(folder / "equity.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time_ms", "equity"])
        w.writerows((t, repr(e)) for t, e in engine.equity_curve)
    summary: dict[str, Any] = {"run_id": run_id, "metrics": perf.as_dict(),
                               "engine": engine.stats.__dict__ | {"decision_ms": None},
                               "retraining": retraining}
    (folder / "metrics.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
