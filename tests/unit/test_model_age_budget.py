"""The model-age budget: every series' model is refreshed before it is older than the
budget, oldest first, never more at once than the executor runs; a champion its challenger
could not beat counts as confirmed (current) after the retrain."""

from __future__ import annotations

from tests.fakes import MemoryStore
from tradeloop.domain import model_age
from tradeloop.domain.gate import Gate
from tradeloop.domain.retraining import RetrainJob, RetrainResult
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.learning import LearningController

H = 3_600_000


class Jobs:
    """A runner whose jobs finish when the test says (``finish``)."""

    def __init__(self) -> None:
        self.jobs: list[RetrainJob] = []
        self.finished = 0
        self._ready: list[tuple[RetrainJob, RetrainResult]] = []

    def submit(self, job: RetrainJob) -> None:
        self.jobs.append(job)

    def finish(self, *, fail: set[str] | None = None) -> None:
        """The running jobs end: each champion kept by the paired test (its challenger did
        not beat it on 150 fresh candles), or the job failed (``fail``: by symbol)."""
        for j in self.jobs[self.finished:]:
            res = RetrainResult(j.symbol, j.timeframe, None, None, False, "training failed",
                                error="boom") if j.symbol in (fail or set()) else \
                RetrainResult(j.symbol, j.timeframe, "2", "r", False, "kept the champion",
                              compared_samples=150)
            self._ready.append((j, res))
        self.finished = len(self.jobs)

    def poll(self) -> list[tuple[RetrainJob, RetrainResult]]:
        ready, self._ready = self._ready, []
        return ready

    def run(self, job: RetrainJob) -> RetrainResult:
        raise AssertionError("not used")

    def close(self, *, wait: bool = True) -> None:
        return None


def controller(trained: dict[tuple[str, str], int], budget_h: float, capacity: int,
               runner: Jobs) -> LearningController:
    symbols = sorted({s for s, _ in trained})
    tfs = sorted({tf for _, tf in trained})
    return LearningController(
        symbols=symbols, timeframes=tfs, weights=dict.fromkeys(tfs, 1.0), exchange="x",
        on_loss=False, min_interval_ms=H, schedule_ms=None, drift_threshold=1.0,
        drift_confirmations=1, horizons=dict.fromkeys(tfs, 4), gate=Gate(0.5, 0.03, 0),
        store=MemoryStore(), book=CandleBook(), runner=runner,
        references=lambda s, tf: None, on_transition=lambda t: None,
        model_time=lambda s, tf: trained.get((s, tf)), max_age_ms=int(budget_h * H),
        capacity=capacity)


def test_the_oldest_models_go_first_within_the_capacity() -> None:
    ages = {("A", "1h"): 10 * H, ("B", "1h"): 2 * H, ("C", "4h"): 7 * H, ("D", "1d"): 5 * H}
    assert model_age.due(ages, 8 * H, busy=[("A", "1h")], free=2) == [("C", "4h")]
    assert model_age.due(ages, 8 * H, busy=[], free=2) == [("A", "1h"), ("C", "4h")]
    assert model_age.oldest(ages) == (("A", "1h"), 10 * H)
    assert model_age.ages(20 * H, {("A", "1h"): 4 * H, ("B", "1h"): None},
                          {("A", "1h"): 12 * H}) == {("A", "1h"): 8 * H}


def test_the_controller_keeps_every_model_within_its_budget() -> None:
    runner = Jobs()
    trained = {(s, "1h"): 0 for s in ("A", "B", "C")} | {("D", "1h"): 3 * H}
    learning = controller(trained, budget_h=8, capacity=2, runner=runner)
    learning.on_tick(5 * H)  # 5 h old: under 75 % of the budget, nothing yet
    assert not runner.jobs
    learning.on_tick(6 * H)  # 6 h: refreshed, two at a time (the oldest, then by name)
    assert [(j.symbol, j.reason) for j in runner.jobs] == [("A", "model_age"),
                                                            ("B", "model_age")]
    learning.on_tick(6 * H + 60_000)  # the two are still running: C waits
    assert len(runner.jobs) == 2
    runner.finish()  # done; the champions kept (their challengers did not beat them)
    learning.on_tick(7 * H)
    assert [j.symbol for j in runner.jobs[2:]] == ["C"]
    ages = learning.ages(7 * H)
    assert ages[("A", "1h")] == H  # confirmed at 6 h by the paired test on fresh data
    assert ages[("D", "1h")] == 4 * H
    runner.finish()
    learning.on_tick(9 * H)  # D: 6 h old now
    assert [j.symbol for j in runner.jobs[3:]] == ["D"]
    runner.finish()
    learning.on_tick(9 * H + 1)
    oldest = model_age.oldest(learning.ages(9 * H + 1))
    assert oldest is not None and oldest[1] < 8 * H  # every model within its budget


def test_off_by_default() -> None:
    runner = Jobs()
    learning = controller({("A", "1h"): 0}, budget_h=0, capacity=1, runner=runner)
    learning.on_tick(100 * H)
    assert not runner.jobs


def test_a_failing_series_backs_off_and_does_not_starve_the_others() -> None:
    runner = Jobs()
    trained = {("A", "1h"): 0, ("B", "1h"): H}
    learning = controller(trained, budget_h=8, capacity=1, runner=runner)
    learning.on_tick(6 * H)
    assert [j.symbol for j in runner.jobs] == ["A"]
    runner.finish(fail={"A"})  # A's retrain fails: it backs off, B is next
    learning.on_tick(7 * H)
    assert [j.symbol for j in runner.jobs] == ["A", "B"]
    runner.finish()
    for t in range(8, 9):  # A waits out its back-off (2 h after its try at 6 h)
        learning.on_tick(t * H)
    assert [j.symbol for j in runner.jobs] == ["A", "B", "A"]
    assert learning.ages(8 * H)[("A", "1h")] == 8 * H  # a failure refreshes nothing


def test_a_retrain_that_trained_or_compared_nothing_does_not_refresh() -> None:
    nothing = RetrainResult("A", "1h", None, None, False, "not trained: 40 new candles")
    untested = RetrainResult("A", "1h", "3", "r", False, "not compared: no news")
    kept = RetrainResult("A", "1h", "3", "r", False, "kept", compared_samples=120)
    made = RetrainResult("A", "1h", "3", "r", True, "first model of this series")
    assert [r.refreshed for r in (nothing, untested, kept, made)] == [False, False, True, True]
