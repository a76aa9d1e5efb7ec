"""Backtests: the engine on replayed history, retraining at simulated time (walk-forward).

A backtest has its own model registry under ``data/backtests/<run>/models``: initial models
are trained on data before the start, later ones at simulated time, so no model ever saw the
future, and the production champions in MLflow are never touched.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, update

from tradeloop.adapters.broker.sim import SimBroker
from tradeloop.adapters.market_data.replay import ReplayMarketData
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.adapters.store.schema import DeploymentRow
from tradeloop.adapters.store.trading_store import TradingStore, ts
from tradeloop.app import StoreHandle, engine_window, wire_engine
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.performance import Performance, evaluate
from tradeloop.domain.timeframes import Timeframe
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine
from tradeloop.engine.learning import LearningController, RetrainJob, retraining_row
from tradeloop.engine.retrainer import RetrainResult
from tradeloop.engine.worker import ProcessRunner
from tradeloop.ml.predictor import Predictor
from tradeloop.settings import Settings

log = logging.getLogger("tradeloop.backtest")
HOUR_MS = 3_600_000


@dataclass
class BacktestResult:
    run_id: str
    folder: Path
    performance: Performance
    engine: Engine
    learning: LearningController
    initial: list[RetrainResult]
    events: int
    replay_seconds: float


def run_id_for(settings: Settings, symbols: list[str], start_ms: int, end_ms: int,
               retrain_every_ms: int | None) -> str:
    """Deterministic id of a backtest's inputs (config, symbols, window, cadence)."""
    blob = json.dumps([settings.model_dump(mode="json"), symbols, start_ms, end_ms,
                       retrain_every_ms], sort_keys=True)
    return "bt-" + hashlib.sha1(blob.encode()).hexdigest()[:10]


def run_backtest(settings: Settings, store: StoreHandle, symbols: list[str], start_ms: int,
                 end_ms: int, *, retrain_every_ms: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 folder: Path | None = None, retraining: bool = True) -> BacktestResult:
    """Replay ``[start, end)`` for ``symbols`` on every configured timeframe.

    ``retraining=False`` keeps the initial models for the whole replay (no triggers)."""
    run_id = run_id_for(settings, symbols, start_ms, end_ms, retrain_every_ms)
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    folder = folder or settings.path(settings.paths.data_dir) / "backtests" / f"{run_id}-{stamp}"
    registry = LocalRegistry(folder / "models")  # read here; written by the worker
    tfs = settings.timeframes.names
    keys = [SeriesKey(settings.exchange.name, s, tf) for s in symbols for tf in tfs]

    worker = ProcessRunner(settings, folder / "models", wait=True)

    market = ReplayMarketData(store.candles, keys, start_ms, end_ms,
                              warmup_bars=engine_window(settings))
    book = CandleBook()
    predictor = Predictor(registry)
    market.open(book)
    for key, candles in market.series.items():
        predictor.preload_features(key.symbol, key.timeframe, candles)
    with store.engine.begin() as conn:
        pk = conn.execute(insert(DeploymentRow).values(
            phase=0, symbols=",".join(symbols), mode="replay", status="running",
            started_at=ts(start_ms), notes=f"backtest {run_id}")).inserted_primary_key
    assert pk is not None
    deployment_id = int(pk[0])
    tstore = TradingStore(store.engine, "replay", deployment_id)
    initial = []
    for key in keys:  # walk-forward: the first models see only data before the start
        job = RetrainJob(key.symbol, key.timeframe, "initial", start_ms)
        res = worker.run(job)
        initial.append(res)
        tstore.retraining(retraining_row(job, res, start_ms))
        if res.error:
            log.warning("[%s @ %s] no initial model: %s", key.symbol, key.timeframe, res.error)
    engine, learning = wire_engine(
        settings, symbols, book=book, predictor=predictor,
        broker=SimBroker(settings.trading.initial_balance, settings.trading.fee_bps,
                         settings.trading.slippage_bps),
        store=tstore, runner=worker, run_id=f"{run_id}-d{deployment_id}",
        schedule_ms=retrain_every_ms)
    if not retraining:
        engine.learning = None
    total = len(market)
    done = 0
    loop_started = time.perf_counter()
    try:
        for event in market.closes():
            assert event is not None  # replay has no heartbeats
            engine.on_close(event.key, event.index, event.close_ms)
            done += 1
            if progress is not None and done % 2000 == 0:
                progress(done, total)
        engine.finish(end_ms)
        replay_seconds = time.perf_counter() - loop_started
    finally:
        worker.close()
    if progress is not None:
        progress(done, total)
    perf = _performance(engine, market, symbols, settings)
    _write(folder, engine, perf, learning, run_id)
    with store.engine.begin() as conn:
        conn.execute(update(DeploymentRow).where(DeploymentRow.id == deployment_id)
                     .values(status="completed", ended_at=ts(end_ms),
                             duration_hours=(end_ms - start_ms) / HOUR_MS,
                             report_path=str(folder),
                             notes=json.dumps({"backtest": run_id, **perf.as_dict()})))
    return BacktestResult(run_id, folder, perf, engine, learning, initial, done, replay_seconds)


def _performance(engine: Engine, market: ReplayMarketData, symbols: list[str],
                 settings: Settings) -> Performance:
    times = np.array([t for t, _ in engine.equity_curve], dtype=np.int64)
    equity = np.array([e for _, e in engine.equity_curve])
    if len(times) < 2:
        times = np.array([market.start_ms, market.end_ms])
        equity = np.full(2, settings.trading.initial_balance)
    bh = []
    for s in symbols:  # the finest timeframe that has candles in the window
        for key in sorted((k for k in market.keys if k.symbol == s),
                          key=lambda k: Timeframe.parse(k.timeframe)):
            c = market.series[key].take(slice(market.first_event[key], None))
            if len(c) > 1:
                bh.append(float(c.close[-1] / c.open[0] - 1.0))
                break
    trades = [t for t, _ in engine.trades]
    return evaluate(times, equity, trades, [r for _, r in engine.trades],
                    float(np.mean(bh)) if bh else 0.0)


def _write(folder: Path, engine: Engine, perf: Performance, learning: LearningController,
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
                               "retraining": learning.stats()}
    (folder / "metrics.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
