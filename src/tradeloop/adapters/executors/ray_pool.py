"""Retraining jobs and optimisation trials on a Ray cluster (``continuous_learning.executor:
ray``; ``tradeloop optimize --executor ray``).

:class:`RayExecutor` is the ``submit`` of ``concurrent.futures`` on Ray tasks: each call is a
task of ``cpus_per_task`` CPUs whose result comes back as a ``Future``, so the process pool's
callers use it unchanged. A task whose worker dies (a killed process, a lost node) is run
once more by Ray (``max_retries=1``); an exception the job raises is not retried (it is the
job's outcome). Ray is imported only here, when such an executor is made: processes that do
not use it never pay its import. With no ``address`` a local Ray (127.0.0.1, no dashboard)
is started for the run and stopped with it; with one (``auto``, ``ray://head:10001``) the
run joins that cluster, whose workers need this package and the same configuration's
database (PostgreSQL when distributed) and MLflow server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from tradeloop.adapters.executors.process_pool import JobFunction, ProcessRunner
from tradeloop.domain.errors import ConfigError

_READY: set[str] = set()  # in a Ray worker: the executors whose initialiser ran here


def _call(executor: str, init: Callable[..., None] | None, init_args: tuple[Any, ...],
          fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """One task in a Ray worker: its executor's initialiser once, then ``fn(*args)``."""
    if init is not None and executor not in _READY:
        init(*init_args)
        _READY.add(executor)
    return fn(*args)


class RayExecutor:
    """``submit(fn, *args) -> Future`` on Ray tasks (see the module's docstring)."""

    def __init__(self, *, address: str | None = None, workers: int = 1,
                 cpus_per_task: float = 1.0, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs Ray: pip install 'tradeloop[ray]' "
                              "(or continuous_learning.executor.kind: process)") from None
        self.ray = ray
        self.started = False
        self.id = uuid.uuid4().hex
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if address is None:  # a new private instance, never one found running
                os.environ.setdefault("RAY_AUTH_MODE", "disabled")
                kwargs.update(num_cpus=max(1, int(workers * cpus_per_task + 0.999)),
                              _node_ip_address="127.0.0.1")
            with _own_signals():
                ray.init(address=address or "local", **kwargs)
            self.started = True
        self.task = ray.remote(_call).options(num_cpus=cpus_per_task, max_retries=1,
                                              retry_exceptions=False)
        self.initializer, self.initargs = initializer, initargs
        self.tasks: list[tuple[Any, Future[Any]]] = []  # not finished yet

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        self.tasks = [(r, f) for r, f in self.tasks if not f.done()]
        ref = self.task.remote(self.id, self.initializer, self.initargs, fn, args)
        future: Future[Any] = ref.future()
        self.tasks.append((ref, future))
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if cancel_futures or not wait:
            for ref, _ in self.tasks:
                with contextlib.suppress(Exception):  # finished already: nothing to cancel
                    self.ray.cancel(ref, force=True)
        elif self.tasks:
            refs = [r for r, _ in self.tasks]
            self.ray.wait(refs, num_returns=len(refs))
        self.tasks = []
        if self.started:
            self.ray.shutdown()
            self.started = False


@contextlib.contextmanager
def _own_signals() -> Iterator[None]:
    """Keep this process's SIGTERM/SIGINT handlers (a session's graceful stop): ``ray.init``
    replaces them with its own."""
    main = threading.current_thread() is threading.main_thread()
    kept = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)} if main else {}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            if handler is not None:
                signal.signal(sig, handler)


class RayRunner(ProcessRunner):
    """The RetrainRunner port on Ray: the process pool's job function, each job a Ray task
    (at most ``workers`` at once where the cluster is ours)."""

    def __init__(self, function: JobFunction, args: tuple[Any, ...], *, wait: bool,
                 address: str | None = None, workers: int = 1, cpus_per_job: float = 1.0
                 ) -> None:
        self.address, self.cpus_per_job = address, cpus_per_job
        super().__init__(function, args, wait=wait, workers=workers)

    def _new_pool(self) -> Any:
        return RayExecutor(address=self.address, workers=self.workers,
                           cpus_per_task=self.cpus_per_job)

    def close(self, *, wait: bool = True) -> None:
        """Stop: ``wait=False`` cancels running jobs (their challengers are not made)."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
