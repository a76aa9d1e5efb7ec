"""Retraining in a worker process, off the engine's hot path (the RetrainRunner port).

The engine process never imports Lightning (its ~440 MB and ~9 s stay in the worker). In
replay the engine waits for each job at simulated time, so a replay stays deterministic; in
paper/live it polls and keeps serving the champion meanwhile. What a job does is given by the
composition root (a picklable module-level function and its arguments).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from tradeloop.domain.retraining import RetrainJob, RetrainResult

JobFunction = Callable[..., RetrainResult]  # (*args, job) -> result, run in the worker


def _outcome(job: RetrainJob, future: Future[RetrainResult]) -> RetrainResult:
    """The job's result; a failure in the worker is a failed retrain, never a crash."""
    try:
        return future.result()
    except Exception as exc:
        return RetrainResult(job.symbol, job.timeframe, None, None, False, "worker failed",
                             error=f"{type(exc).__name__}: {exc}")


class ProcessRunner:
    """Runs retraining jobs in ``workers`` spawned worker processes (one by default)."""

    def __init__(self, function: JobFunction, args: tuple[Any, ...], *, wait: bool,
                 workers: int = 1) -> None:
        self.function, self.args = function, args
        self.wait, self.workers = wait, workers
        self._pool: Any = self._new_pool()
        self._futures: list[tuple[RetrainJob, Future[RetrainResult]]] = []

    def _new_pool(self) -> Any:
        return ProcessPoolExecutor(max_workers=self.workers,
                                   mp_context=multiprocessing.get_context("spawn"))

    def _submit(self, job: RetrainJob) -> Future[RetrainResult]:
        """Submit, replacing a pool broken by a crashed worker (the next job still runs); a
        job that cannot be submitted at all (a cluster gone) is a failed retrain."""
        try:
            try:
                return self._pool.submit(self.function, *self.args, job)
            except BrokenProcessPool:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                return self._pool.submit(self.function, *self.args, job)
        except Exception as exc:  # recorded as the job's failure
            failed: Future[RetrainResult] = Future()
            failed.set_exception(exc)
            return failed

    def submit(self, job: RetrainJob) -> None:
        future = self._submit(job)
        if self.wait:
            _outcome(job, future)
        self._futures.append((job, future))

    def run(self, job: RetrainJob) -> RetrainResult:
        """Run one job and wait for it."""
        return _outcome(job, self._submit(job))

    def poll(self) -> list[tuple[RetrainJob, RetrainResult]]:
        done = [(j, f) for j, f in self._futures if f.done()]
        self._futures = [(j, f) for j, f in self._futures if not f.done()]
        return [(job, _outcome(job, future)) for job, future in done]

    @property
    def busy(self) -> bool:
        return any(not f.done() for _, f in self._futures)

    def close(self, *, wait: bool = True) -> None:
        """Shut the worker down; ``wait=False`` abandons a running job (a stopping live
        engine must not wait minutes for a retrain: the challenger is simply not made)."""
        if not wait:
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.terminate()  # private attribute, stable across CPython 3.11-3.13
        self._pool.shutdown(wait=wait, cancel_futures=True)
