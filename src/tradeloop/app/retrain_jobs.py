"""Retraining jobs as a worker process runs them: its own store and registry, then
:func:`tradeloop.ml.promotion.retrain` (Lightning is imported there, never in the engine)."""

from __future__ import annotations

from pathlib import Path

from tradeloop.adapters.executors.process_pool import ProcessRunner
from tradeloop.domain.retraining import RetrainJob, RetrainResult, retraining_row
from tradeloop.ports import ModelRecorder, StoreHandle
from tradeloop.settings import Settings


def run_job(settings: Settings, registry_root: str | None, job: RetrainJob) -> RetrainResult:
    """One job, in the worker: ``registry_root`` is a run's own model folder (a replay), or
    None for the production registry (MLflow)."""
    import torch

    from tradeloop.app.news import news_features
    from tradeloop.app.stores import model_registry, open_store
    from tradeloop.ml.promotion import retrain

    torch.set_num_threads(1)
    store = open_store(settings, migrate=False)
    registry: ModelRecorder
    if registry_root is not None:
        from tradeloop.adapters.registry.local_registry import LocalRegistry

        registry = LocalRegistry(Path(registry_root))
    else:
        registry = model_registry(settings)
    try:
        return retrain(settings, store.candles, registry, job.symbol, job.timeframe,
                       job.triggered_ms, news_features(settings, store), job_id=job.key)
    finally:
        store.close()


def retrain_runner(settings: Settings, registry_root: Path | None, *, wait: bool
                   ) -> ProcessRunner:
    """Retraining in worker processes, or as Ray tasks (``continuous_learning.executor``):
    waited for (replay) or polled (live)."""
    root = str(registry_root) if registry_root is not None else None
    ex = settings.continuous_learning.executor
    if ex.kind == "ray":
        from tradeloop.adapters.executors.ray_pool import RayRunner

        return RayRunner(run_job, (settings, root), wait=wait, address=ex.ray_address,
                         workers=ex.workers, cpus_per_job=ex.cpus_per_job)
    return ProcessRunner(run_job, (settings, root), wait=wait, workers=ex.workers)


def retrain_here(settings: Settings, handle: StoreHandle, symbol: str, timeframe: str,
                 now_ms: int) -> RetrainResult:
    """A manual retrain in this process (no engine running), against the production
    registry; recorded in ``retraining_history`` (trigger ``manual``)."""
    from tradeloop.adapters.store.trading_store import TradingStore
    from tradeloop.app.news import news_features
    from tradeloop.app.stores import model_registry
    from tradeloop.ml.promotion import retrain

    res = retrain(settings, handle.candles, model_registry(settings), symbol, timeframe, now_ms,
                  news_features(settings, handle))
    job = RetrainJob(symbol, timeframe, "manual", now_ms)
    TradingStore(handle.engine, "manual").retraining(
        retraining_row(job, res, now_ms + int(res.seconds * 1000)))
    return res
