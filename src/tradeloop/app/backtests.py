"""Backtests: a replay run through the one runner without a deployment's hooks, retraining at
simulated time (walk-forward).

A backtest has its own model registry under ``data/backtests/<run>/models``: initial models
are trained on data before the start, later ones at simulated time, so no model ever saw the
future, and the production champions in MLflow are never touched. A strategy that needs no
model (a rule) trains none and predicts nothing, so a rule backtest costs only the rule.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tradeloop.adapters.broker.sim import SimBroker
from tradeloop.adapters.clock import SimClock
from tradeloop.adapters.market_data.replay import ReplayMarketData
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.adapters.store.backtest_store import BacktestStore
from tradeloop.adapters.store.deployments import Deployments
from tradeloop.app.news import news_features
from tradeloop.app.retrain_jobs import retrain_runner
from tradeloop.deploy.parity import RecordingStore
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.performance import Performance
from tradeloop.domain.retraining import RetrainResult
from tradeloop.engine import backtest_report
from tradeloop.engine.assembly import run_warmup, strategy_for, wire_engine
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine
from tradeloop.engine.learning import LearningController
from tradeloop.engine.runner import Progress, RunHook, Runner
from tradeloop.engine.walk_forward import train_initial
from tradeloop.ml.predictor import ChampionPredictor
from tradeloop.ports import Store, StoreHandle
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
    deployment_id: int = 0


def run_id_for(settings: Settings, symbols: list[str], start_ms: int, end_ms: int,
               retrain_every_ms: int | None) -> str:
    """Deterministic id of a backtest's inputs (config, symbols, window, cadence)."""
    blob = json.dumps([settings.model_dump(mode="json"), symbols, start_ms, end_ms,
                       retrain_every_ms], sort_keys=True)
    return "bt-" + hashlib.sha1(blob.encode(), usedforsecurity=False).hexdigest()[:10]


def run_backtest(settings: Settings, store: StoreHandle, symbols: list[str], start_ms: int,
                 end_ms: int, *, retrain_every_ms: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 folder: Path | None = None, retraining: bool = True,
                 files: bool = True, record: bool = True) -> BacktestResult:
    """Replay ``[start, end)`` for ``symbols`` on every configured timeframe.

    ``retraining=False`` keeps the initial models for the whole replay (no triggers);
    ``files=False`` skips the files of ``data/backtests/<run>/``; ``record=False`` keeps
    what the engine decides in memory (no deployment row, nothing written: optimisation
    trials)."""
    run_id = run_id_for(settings, symbols, start_ms, end_ms, retrain_every_ms)
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    folder = folder or settings.path(settings.paths.data_dir) / "backtests" / f"{run_id}-{stamp}"
    strategy = strategy_for(settings, settings.trading.strategy)
    tfs = settings.timeframes.names
    keys = [SeriesKey(settings.exchange.name, s, tf) for s in symbols for tf in tfs]
    clock = SimClock(start_ms)
    market = ReplayMarketData(store.candles, keys, start_ms, end_ms,
                              warmup_bars=run_warmup(settings), clock=clock, heartbeat_ms=None)
    deployments = Deployments(store.engine)
    deployment_id = deployments.open(phase=0, symbols=symbols, mode="replay",
                                     started_ms=start_ms, notes=f"backtest {run_id}") \
        if record else 0
    tstore: Store = BacktestStore(store.engine, "replay", deployment_id) if record \
        else RecordingStore()
    worker = retrain_runner(settings, folder / "models", wait=True)
    initial: list[RetrainResult] = []
    try:
        if strategy.needs_models:  # walk-forward: the first models see only the past
            initial = train_initial(worker, tstore, [(k.symbol, k.timeframe) for k in keys],
                                    start_ms)
        predictor = ChampionPredictor(LocalRegistry(folder / "models"),
                                      news_features(settings, store)) \
            if strategy.needs_models else None
        t = settings.trading
        engine, learning = wire_engine(
            settings, symbols, book=CandleBook(), predictor=predictor,
            broker=SimBroker(t.initial_balance, t.fee_bps, t.slippage_bps), store=tstore,
            runner=worker, run_id=f"{run_id}-d{deployment_id}", schedule_ms=retrain_every_ms)
        if not retraining or not strategy.needs_models:
            engine.learning = None
        hooks: list[RunHook] = [Progress(len(market), progress)] if progress else []
        runner = Runner(engine, market, clock, hooks)
        runner.open()  # warm-up and precomputed inputs, before the replay is timed
        loop_started = time.perf_counter()
        outcome = runner.run()
        engine.finish(clock.now_ms() if outcome.stopped_by != "end_of_data" else end_ms)
        replay_seconds = time.perf_counter() - loop_started
    finally:
        worker.close()
    if progress is not None:
        progress(outcome.events, len(market))
    perf = backtest_report.performance(engine, market.series, market.first_event, symbols,
                                       start_ms, end_ms, settings.trading.initial_balance)
    if files:
        backtest_report.write(folder, engine, perf, learning.stats(), run_id)
    if record:
        deployments.update(deployment_id, status="completed", ended_ms=end_ms,
                           duration_hours=(end_ms - start_ms) / HOUR_MS,
                           report_path=str(folder) if files else None,
                           notes={"backtest": run_id, "stopped_by": outcome.stopped_by,
                                  **perf.as_dict()})
    return BacktestResult(run_id, folder, perf, engine, learning, initial, outcome.events,
                          replay_seconds, deployment_id)
