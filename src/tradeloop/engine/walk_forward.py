"""Initial walk-forward models of a replayed run (a backtest, a rehearsed phase): trained on
data before the window only, so no model ever sees the history it is judged on."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tradeloop.domain.retraining import RetrainJob, RetrainResult, retraining_row
from tradeloop.ports import RetrainRunner, Store

log = logging.getLogger("tradeloop.walk_forward")


def train_initial(runner: RetrainRunner, store: Store, series: list[tuple[str, str]],
                  start_ms: int, on_result: Callable[[RetrainResult], None] | None = None
                  ) -> list[RetrainResult]:
    """One model per (symbol, timeframe) on candles closed by ``start_ms``; each run is a
    ``retraining_history`` row (trigger ``initial``). A series whose model could not be
    trained is reported in its result's ``error`` (the caller decides whether that is
    fatal)."""
    results = []
    for symbol, timeframe in series:
        job = RetrainJob(symbol, timeframe, "initial", start_ms)
        res = runner.run(job)
        results.append(res)
        store.retraining(retraining_row(job, res, start_ms))
        if res.error:
            log.warning("[%s @ %s] no initial model: %s", symbol, timeframe, res.error)
        if on_result is not None:
            on_result(res)
    store.flush()
    return results
