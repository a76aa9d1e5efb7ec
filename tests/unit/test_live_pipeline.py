"""The session's pipeline hook on fakes: armed, it waits out the start delay, backtests off
the loop's thread, puts what passes on paper desks, reviews them on their own trades,
stops a retired instance's desk, alerts on every move and forgets a wiped run's backtests."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

import numpy as np
import pytest

from tests.fakes import FakeBroker, MemoryNotifier, ScriptedStrategy
from tests.unit.test_engine_desks import SYMBOL, T0, engine, limits
from tradeloop.deploy.live_pipeline import LivePipeline, PipelineParts
from tradeloop.domain.errors import ConfigError
from tradeloop.domain.risk import RiskManager
from tradeloop.domain.trading import BrokerEvents
from tradeloop.engine.desks import Desk
from tradeloop.engine.engine import Engine
from tradeloop.lifecycle.allocation import Allocation
from tradeloop.lifecycle.catalogue import Candidate
from tradeloop.lifecycle.pipeline import Instance
from tradeloop.lifecycle.record import DAY_MS, TrackRecord, TradeMark
from tradeloop.lifecycle.stages import Stage, Transition
from tradeloop.settings.schema import GraduationSettings

GOOD = Candidate("ma_cross", SYMBOL, "1h", {"fast": 10, "slow": 30})
BAD = Candidate("mean_reversion", SYMBOL, "1h", {})
engine_log = logging.getLogger("tradeloop.engine")
CFG = GraduationSettings.model_validate({
    "start_delay_seconds": 60, "review_hours": 24, "discovery_hours": 0,
    "backtest": {"lookback_days": 20, "min_trades": 5},
    "paper": {"min_days": 7, "max_days": 10, "min_trades": 5}})


class MemoryLog:
    def __init__(self) -> None:
        self.saved: list[tuple[list[str], list[Transition], list[Allocation]]] = []
        self.stored: tuple[list[Instance], int] = ([], 0)

    def save(self, instances: list[Instance], transitions: list[Transition],
             allocations: list[Allocation], at_ms: int, equity: float) -> None:
        self.saved.append(([i.stage.value for i in instances], transitions, allocations))

    def load(self) -> tuple[list[Instance], int]:
        return self.stored

    def fractions(self) -> dict[str, float]:
        last: dict[str, float] = {}
        for _, _, allocations in self.saved:
            last.update({a.instance: a.fraction for a in allocations})
        return last


def record(start: int, days: int, mean: float, seed: int) -> TrackRecord:
    rng = np.random.default_rng(seed)
    returns = rng.normal(mean, 0.004, days)
    marks = tuple(TradeMark(start + i * DAY_MS, start + i * DAY_MS + 1, float(r))
                  for i, r in enumerate(returns))
    return TrackRecord(start // DAY_MS * DAY_MS, returns, marks)


class Parts:
    """Backtests that wait for ``release`` (a slow backtest on another thread); paper
    records that lose (the good candidate degrades on paper)."""

    def __init__(self, eng: Engine) -> None:
        self.eng, self.release = eng, threading.Event()
        self.threads: set[str] = set()
        self.calls = 0
        self.log = MemoryLog()
        self.recovered: list[str] = []

    def backtest(self, c: Candidate, start: int, end: int) -> TrackRecord:
        self.calls += 1
        self.release.wait(10)
        self.threads.add(threading.current_thread().name)
        engine_log.info("backtest candle of %s", c.key)  # a replay's per-candle line
        engine_log.warning("backtest warning of %s", c.key)
        return record(start, (end - start) // DAY_MS + 1,
                      0.004 if c.strategy == "ma_cross" else -0.001, 1)

    def records(self, since: Mapping[str, int], now: int) -> dict[str, TrackRecord]:
        return {k: record(s, (now - s) // DAY_MS, -0.003, 2) for k, s in since.items()}

    def desk(self, c: Candidate) -> Desk:
        broker = FakeBroker()
        return Desk(c.key, ScriptedStrategy(set()), broker, RiskManager(limits(), broker.cash),
                    self.eng.store.for_instance(c.key, "paper"), frozenset({c.symbol}),
                    c.timeframe, account=False)

    def fund(self, c: Candidate, now_ms: int) -> tuple[Desk, BrokerEvents]:
        """A book of the account: empty; its recovery (what an earlier run left) noted."""
        self.recovered.append(c.key)
        broker = FakeBroker(0.0)
        return Desk(c.key, ScriptedStrategy(set()), broker, RiskManager(limits(), 0.0),
                    self.eng.store.for_instance(c.key), frozenset({c.symbol}),
                    c.timeframe), BrokerEvents([], [])

    def make(self) -> PipelineParts:
        return PipelineParts(lambda: [GOOD, BAD], self.backtest, self.records, self.desk,
                             self.log)


def winning(eng: Engine) -> Parts:
    """Parts whose backtests answer at once and whose instances win on paper (they go on to
    the real-money stages)."""
    parts = Parts(eng)
    parts.release.set()
    parts.records = lambda since, now: {  # type: ignore[method-assign]
        k: record(s, (now - s) // DAY_MS, 0.008, 3) for k, s in since.items()}
    return parts


def settle(pipe: LivePipeline, now: int) -> None:
    """Step until the backtests on the other thread are applied (at most 10 s)."""
    for _ in range(1000):
        pipe.step(now)
        if not pipe.busy:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the backtests did not finish")


def test_backtests_run_off_the_loop_and_their_result_is_applied_on_a_later_step(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    eng, _, _ = engine(ScriptedStrategy(set()))
    parts, notifier = Parts(eng), MemoryNotifier()
    pipe = LivePipeline(CFG, eng, parts.make(), background=True, notifier=notifier)
    assert not pipe.restore(T0)
    pipe.arm(T0)
    pipe.step(T0 + 59_000)  # before the delay: nothing yet
    assert pipe.progress == (0, 0) and not parts.log.saved
    pipe.step(T0 + 60_000)  # the backtests start on another thread: the loop goes on
    assert pipe.progress == (0, 2) and parts.log.saved[0][0] == ["candidate", "candidate"]
    pipe.step(T0 + 120_000)
    assert [d.instance for d in eng.desks] == ["main"]
    parts.release.set()
    settle(pipe, T0 + 180_000)
    assert parts.threads and "MainThread" not in parts.threads
    # the backtests' info lines stay out of the session's log; their warnings do not
    engine_log.info("a live candle")
    lines = [r.getMessage() for r in caplog.records if r.name == "tradeloop.engine"]
    assert "a live candle" in lines and f"backtest warning of {GOOD.key}" in lines
    assert not [m for m in lines if m.startswith("backtest candle")]
    assert [d.instance for d in eng.desks] == ["main", GOOD.key]
    assert pipe.pipe.instances[GOOD.key].stage is Stage.PAPER
    assert pipe.pipe.instances[BAD.key].stage is Stage.BACKTESTED
    assert [a[1] for a in notifier.alerts] == ["Strategy paper"]
    # reviews every 24 h on the instance's own record: losing on paper, it is retired after
    # its max days and its desk stopped
    for day in range(1, 12):
        pipe.step(T0 + 180_000 + day * DAY_MS)
    assert pipe.pipe.instances[GOOD.key].stage is Stage.RETIRED
    assert [d.instance for d in eng.desks] == ["main"]
    assert notifier.alerts[-1][:2] == ("warning", "Strategy retired")
    pipe.close()


def test_wipe_data_while_backtests_run_discards_their_results() -> None:
    eng, _, _ = engine(ScriptedStrategy(set()))
    parts = Parts(eng)
    pipe = LivePipeline(CFG, eng, parts.make(), background=True)
    pipe.arm(T0)
    pipe.step(T0 + 60_000)
    pipe.arm(T0 + 90_000)  # Wipe Data: a new start
    assert pipe.progress == (0, 0)
    parts.release.set()
    pipe.step(T0 + 100_000)
    assert [d.instance for d in eng.desks] == ["main"] and not pipe.pipe.instances
    pipe.step(T0 + 150_000)  # its own backtests, on the history before the new start
    settle(pipe, T0 + 160_000)
    assert [d.instance for d in eng.desks] == ["main", GOOD.key]
    assert parts.calls == 3  # the wiped round stopped after its first candidate
    pipe.close()


def test_a_candidate_that_cannot_be_backtested_waits_and_the_others_go_on() -> None:
    eng, _, _ = engine(ScriptedStrategy(set()))
    parts = Parts(eng)
    parts.release.set()

    def backtest(c: Candidate, start: int, end: int) -> TrackRecord:
        if c is BAD:
            raise ConfigError(f"no stored {c.symbol} {c.timeframe} candles")
        return Parts.backtest(parts, c, start, end)

    made = parts.make()
    made.backtest = backtest
    pipe = LivePipeline(CFG, eng, made, background=False)
    pipe.arm(T0)
    pipe.step(T0 + 60_000)
    assert pipe.pipe.instances[GOOD.key].stage is Stage.PAPER
    assert pipe.pipe.instances[BAD.key].stage is Stage.CANDIDATE  # tried at the next round
    assert [i.key for i in pipe.pipe.untested(T0 + 120_000)] == [BAD.key]


def test_discovery_adds_optimised_variants_and_counts_their_trials() -> None:
    eng, _, _ = engine(ScriptedStrategy(set()))
    parts = Parts(eng)
    parts.release.set()
    variant = Candidate("ma_cross", SYMBOL, "1h", {"fast": 12, "slow": 40}, source="study-1")
    calls: list[tuple[int, int]] = []

    def variants(start: int, end: int) -> tuple[list[Candidate], int]:
        calls.append((start, end))
        return [variant, GOOD], 25  # the study's best; GOOD is already known: not re-added

    made = parts.make()
    made.variants = variants
    cfg = CFG.model_copy(update={"optimise_trials": 25, "optimise_days": 30.0,
                                 "discovery_hours": 24.0})
    pipe = LivePipeline(cfg, eng, made, background=False)
    pipe.arm(T0)
    pipe.step(T0 + 60_000)
    assert len(calls) == 1 and calls[0][1] == T0 + 60_000
    assert pipe.pipe.backtests == 25 + 3  # the trials, then the three backtests judged
    # judged with the 25 trials counted (the deflated Sharpe's), it passes as the rule does
    assert pipe.pipe.instances[variant.key].stage is Stage.PAPER
    assert pipe.pipe.instances[variant.key].candidate.source == "study-1"
    assert [d.instance for d in eng.desks] == ["main", GOOD.key, variant.key]
    pipe.step(T0 + 60_000 + DAY_MS + 1)  # the next discovery: no study before 30 days
    assert len(calls) == 1


def test_real_money_stages_trade_a_funded_book_of_the_account() -> None:
    eng, main_broker, _ = engine(ScriptedStrategy(set()))
    parts = winning(eng)

    made = parts.make()
    made.fund = parts.fund
    pipe = LivePipeline(CFG, eng, made, background=False)
    pipe.arm(T0)
    pipe.step(T0 + 60_000)
    assert not eng.desk(GOOD.key).account  # type: ignore[union-attr]  # on paper
    day = 1
    while pipe.pipe.instances[GOOD.key].stage is Stage.PAPER and day < 12:
        pipe.step(T0 + 60_000 + day * DAY_MS)
        day += 1
    assert pipe.pipe.instances[GOOD.key].stage is Stage.LIVE_CANDIDATE
    desk = eng.desk(GOOD.key)
    assert desk is not None and desk.account
    # the live-candidate band's maximum (5 %) of the account, moved from the main desk
    assert desk.broker.cash == pytest.approx(500.0)
    assert main_broker.cash == pytest.approx(9_500.0)
    assert eng.account_equity() == pytest.approx(10_000.0)
    assert eng.risk.peak_equity == pytest.approx(9_500.0)  # a transfer is not a drawdown
    while pipe.pipe.instances[GOOD.key].stage is Stage.LIVE_CANDIDATE and day < 30:
        pipe.step(T0 + 60_000 + day * DAY_MS)
        day += 1
    assert pipe.pipe.instances[GOOD.key].stage is Stage.LIVE
    assert desk.broker.cash == pytest.approx(2_500.0)  # the live band's maximum (25 %)
    assert main_broker.cash == pytest.approx(7_500.0)
    # a restarted session takes it up on its book of the account at once, funded to its
    # last allocation (a simulated book starts empty)
    eng2, main2, _ = engine(ScriptedStrategy(set()))
    parts2 = Parts(eng2)
    parts2.log.stored = ([pipe.pipe.instances[GOOD.key]], 2)
    parts2.log.saved = parts.log.saved
    made2 = parts2.make()
    made2.fund = parts2.fund
    pipe2 = LivePipeline(CFG, eng2, made2, background=False)
    assert pipe2.restore(T0 + 31 * DAY_MS)
    again = eng2.desk(GOOD.key)
    assert again is not None and again.account and parts2.recovered == [GOOD.key]
    assert again.broker.cash == pytest.approx(2_500.0) and main2.cash == pytest.approx(7_500.0)
    # stopped, it gives its cash back
    eng.remove_desk(GOOD.key, T0 + 40 * DAY_MS, "retired")
    assert main_broker.cash == pytest.approx(10_000.0)


def test_an_account_that_cannot_fund_instances_leaves_them_on_their_simulated_books(
        ) -> None:
    eng, main_broker, _ = engine(ScriptedStrategy(set()))
    main_broker.funds_instances = False  # an account with one book
    parts = winning(eng)
    made = parts.make()
    made.fund = parts.fund
    pipe = LivePipeline(CFG, eng, made, background=False)
    pipe.arm(T0)
    for day in range(0, 12):
        pipe.step(T0 + 60_000 + day * DAY_MS)
    assert pipe.pipe.instances[GOOD.key].stage is Stage.LIVE_CANDIDATE
    desk = eng.desk(GOOD.key)
    assert desk is not None and not desk.account and main_broker.cash == 10_000.0


def test_a_failing_step_is_recorded_and_the_session_goes_on() -> None:
    eng, _, store = engine(ScriptedStrategy(set()))
    parts = Parts(eng)
    made = parts.make()

    def broken() -> list[Candidate]:
        raise RuntimeError("database gone")

    made.candidates = broken
    pipe = LivePipeline(CFG, eng, made, background=False)
    pipe.arm(T0)
    pipe.step(T0 + 60_000)  # no exception reaches the loop
    assert store.errors == [("RuntimeError", "database gone")]


def test_a_restart_during_the_first_backtests_runs_them_again() -> None:
    eng, _, _ = engine(ScriptedStrategy(set()))
    parts = Parts(eng)
    parts.release.set()
    parts.log.stored = ([Instance(GOOD.key, GOOD, Stage.CANDIDATE, T0, T0),
                         Instance(BAD.key, BAD, Stage.CANDIDATE, T0, T0)], 0)
    pipe = LivePipeline(CFG, eng, parts.make(), background=False)
    assert pipe.restore(T0 + DAY_MS)
    pipe.step(T0 + DAY_MS + 60_000)  # the start delay after the restart, not a day
    assert pipe.pipe.instances[GOOD.key].stage is Stage.PAPER


def test_a_book_that_cannot_be_opened_leaves_the_instance_on_paper_until_it_can() -> None:
    eng, main_broker, store = engine(ScriptedStrategy(set()))
    parts = winning(eng)
    failures = [RuntimeError("exchange unreachable")]

    def fund(c: Candidate, now_ms: int) -> tuple[Desk, BrokerEvents]:
        if failures:
            raise failures.pop()
        return parts.fund(c, now_ms)

    made = parts.make()
    made.fund = fund
    pipe = LivePipeline(CFG, eng, made, background=False)
    pipe.arm(T0)
    pipe.step(T0 + 60_000)
    day = 1
    while pipe.pipe.instances[GOOD.key].stage is not Stage.LIVE_CANDIDATE and day < 12:
        pipe.step(T0 + 60_000 + day * DAY_MS)
        day += 1
    # promoted and on record, but its book failed: it keeps trading its paper book
    assert parts.log.saved[-1][0].count("live_candidate") == 1
    desk = eng.desk(GOOD.key)
    assert desk is not None and not desk.account
    assert store.errors == [("RuntimeError", f"{GOOD.key}: exchange unreachable")]
    pipe.step(T0 + 60_000 + day * DAY_MS)  # the next review opens it
    desk = eng.desk(GOOD.key)
    assert desk is not None and desk.account and desk.broker.cash == pytest.approx(500.0)
    assert main_broker.cash == pytest.approx(9_500.0)
