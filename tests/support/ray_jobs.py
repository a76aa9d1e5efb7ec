"""Job functions for the Ray executor's tests (importable by Ray's worker processes)."""

from __future__ import annotations

import os
from pathlib import Path

from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.domain.retraining import RetrainJob, RetrainResult


def dies_once(marker: str, registry_root: str, job: RetrainJob) -> RetrainResult:
    """Register the job's model, then (the first time only) kill the worker before the
    answer gets back, as a lost node would."""
    registry = LocalRegistry(Path(registry_root))
    model = Path(registry_root) / "model.npz"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(b"weights")
    run_id, version = registry.log_training(
        job.symbol, job.timeframe, model_path=model, params={}, history=[], metrics={},
        tags={"job_id": job.key}, artifacts={})
    if not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)
    return RetrainResult(job.symbol, job.timeframe, version, run_id, True, "retried",
                         seconds=0.0)
