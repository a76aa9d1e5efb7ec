"""The graduation pipeline inside a session: Wipe Data -> backtests -> paper -> reviews.

Armed by Wipe Data (or at the start of a session whose pipeline is empty), once the session
has been up ``graduation.start_delay_seconds`` the candidate catalogue is backtested on the
stored history before that moment (off the loop's thread in a live session: the loop keeps
trading); the candidates that pass enter paper, each as a desk of the engine on its own
simulated book fed by the session's prices. Discovery comes back every ``discovery_hours``
(an apscheduler IntervalTrigger, as the health checks) for new candidates and re-tests;
every ``review_hours`` each trading instance is judged on its own closed trades, moved
through the stages, and the capital of the real-money stages is rebalanced; a retired
instance's desk is stopped. Every transition is a row and an alert.

Instances in the real-money stages (live candidate, live, under review) trade a book of the
session's account, funded with their allocation from the main desk at each rebalance: a
simulated book of a paper session's account, a sub-ledger of a testnet or live session's
exchange account (its own orders, positions and exits on the exchange; its cash in the
records, so a restart takes it up as it was).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

from apscheduler.triggers.interval import IntervalTrigger

from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.timestamps import ts
from tradeloop.domain.trading import BrokerEvents
from tradeloop.engine.desks import Desk
from tradeloop.engine.engine import Engine
from tradeloop.lifecycle.allocation import Allocation
from tradeloop.lifecycle.catalogue import Candidate
from tradeloop.lifecycle.pipeline import Instance, Pipeline
from tradeloop.lifecycle.record import DAY_MS, TrackRecord, Window
from tradeloop.lifecycle.stages import REAL_CAPITAL, Stage, Transition
from tradeloop.ports import Notifier
from tradeloop.settings.schema import GraduationSettings

log = logging.getLogger("tradeloop.graduation")
HOUR_MS = 3_600_000
TRADING = (Stage.PAPER, Stage.LIVE_CANDIDATE, Stage.LIVE, Stage.UNDER_REVIEW)
THREAD = "graduation"  # the name of the backtests' thread
QUIET = ("tradeloop.engine", "tradeloop.runner", "tradeloop.backtest")


class PipelineLog(Protocol):
    """Where the session's pipeline keeps its rows (``strategy_instances`` ...)."""

    def save(self, instances: list[Instance], transitions: list[Transition],
             allocations: list[Allocation], at_ms: int, equity: float) -> None: ...

    def load(self) -> tuple[list[Instance], int]: ...

    def fractions(self) -> dict[str, float]:
        """Each instance's latest allocation (a fraction of the account)."""


@dataclass
class PipelineParts:
    """What the pipeline runs on, from the composition root.

    ``candidates``: the catalogue on the session's series; ``backtest``: a candidate's track
    record replayed on the stored candles of ``[start, end)``; ``records``: the instances'
    records from their own closed trades (key -> since when) up to now; ``desk``: a new
    paper desk for a candidate; ``progress``: (done, total, as of) of the backtests, for
    the operator's views."""

    candidates: Callable[[], list[Candidate]]
    backtest: Callable[[Candidate, int, int], TrackRecord]
    records: Callable[[Mapping[str, int], int], dict[str, TrackRecord]]
    desk: Callable[[Candidate], Desk]
    log: PipelineLog
    progress: Callable[[int, int, int], None] | None = None
    # seed 003's symbol screen at each review: the alerts of the symbols it blacklisted
    screen: Callable[[int], list[str]] | None = None
    # optimised variants on [start, end): (the studies' best candidates, trials run); every
    # ``optimise_days`` at a discovery, on the pipeline's thread
    variants: Callable[[int, int], tuple[list[Candidate], int]] | None = None
    # a desk for a candidate in a real-money stage at a time: its book of the account's
    # (empty, or as an earlier run left it, with what its recovery found), funded by the
    # pipeline with its allocation from the main desk
    fund: Callable[[Candidate, int], tuple[Desk, BrokerEvents]] | None = None


@dataclass
class Found:
    """What a discovery round brings back: backtest windows by candidate, the optimised
    variants it added, the trials their studies ran."""

    windows: dict[str, Window]
    variants: list[Candidate]
    trials: int


class LivePipeline:
    """The session's pipeline as a runner hook (it never stops the run)."""

    def __init__(self, cfg: GraduationSettings, engine: Engine, parts: PipelineParts, *,
                 background: bool, notifier: Notifier | None = None) -> None:
        self.cfg, self.engine, self.parts = cfg, engine, parts
        self.background, self.notifier = background, notifier
        self.pipe = Pipeline(cfg)
        self.start_at: int | None = None
        self.progress: tuple[int, int] = (0, 0)  # backtests done / to do
        self._job: Future[Found] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._discovery: IntervalTrigger | None = None
        self._next_discovery: datetime | None = None
        self._next_review: int | None = None
        self._generation = 0  # a Wipe Data while backtests run makes their results stale
        self._optimised: int | None = None  # when the last studies ran
        self._unfunded = False  # said that the account cannot fund instances
        self._funded: set[str] = set()  # instances whose book had money (said once)
        self._cancel = threading.Event()  # set: the running backtests stop

    @property
    def busy(self) -> bool:
        """Backtests are running on the pipeline's thread."""
        return self._job is not None

    # -- starting ----------------------------------------------------------------------------
    def restore(self, now_ms: int) -> bool:
        """Take up the stored pipeline (a restarted session): its trading instances get
        their desks again, their records come from their trade rows. False when empty."""
        instances, backtests = self.parts.log.load()
        if not instances:
            return False
        self.pipe = Pipeline(self.cfg)
        self.pipe.backtests = backtests
        for inst in instances:
            self.pipe.instances[inst.key] = inst
            if inst.stage in TRADING:
                try:
                    if inst.stage in REAL_CAPITAL and self._fundable:
                        self._book(inst.candidate, now_ms)
                    else:
                        self.engine.add_desk(self.parts.desk(inst.candidate))
                except Exception as exc:  # e.g. parameters a newer version refuses
                    log.exception("graduation pipeline: %s cannot trade", inst.key)
                    self.engine.store.error(now_ms, type(exc).__name__,
                                            f"{inst.key}: {exc}"[:2000], None, None,
                                            "graduation")
        if self._fundable:  # books that start empty (a simulated account) get their share
            self._rebalance(now_ms, self.parts.log.fractions(), empty_only=True)
        self._schedule_discovery(now_ms)
        self._next_review = now_ms + self._review_ms
        if self.pipe.untested(now_ms):  # a round the restart interrupted: again, soon
            self.start_at = now_ms + int(self.cfg.start_delay_seconds * 1000)
        log.info("graduation pipeline restored: %s", self._counts())
        return True

    def arm(self, now_ms: int) -> None:
        """Start afresh (Wipe Data): the catalogue is backtested ``start_delay_seconds``
        from now."""
        self._generation += 1
        self._job = None
        self._cancel.set()  # a running round of the wiped pipeline stops
        self._cancel = threading.Event()
        self.pipe = Pipeline(self.cfg)
        self.progress = (0, 0)
        if self.parts.progress is not None:
            self.parts.progress(0, 0, now_ms)
        self._next_discovery, self._next_review, self._optimised = None, None, None
        self.start_at = now_ms + int(self.cfg.start_delay_seconds * 1000)
        log.info("graduation pipeline: backtests start at %s", f"{ts(self.start_at):%H:%M:%S}")

    # -- the runner hook ---------------------------------------------------------------------
    def on_close(self, now_ms: int) -> str | None:
        self.step(now_ms)
        return None

    def on_heartbeat(self, now_ms: int) -> str | None:
        self.step(now_ms)
        return None

    def step(self, now_ms: int) -> None:
        """What is due now; an error is recorded and the session goes on."""
        try:
            self._step(now_ms)
        except Exception as exc:  # the pipeline must never stop the trading loop
            log.exception("graduation pipeline: step failed")
            self.engine.store.error(now_ms, type(exc).__name__, str(exc)[:2000], None, None,
                                    "graduation")

    def _step(self, now_ms: int) -> None:
        if self._job is not None and self._job.done():
            self._finish(now_ms)
        if self._job is None:  # while backtests run, discovery waits (reviews do not)
            if self.start_at is not None and now_ms >= self.start_at:
                self.start_at = None
                self._schedule_discovery(now_ms)
                self._discover(now_ms)
            elif self._next_discovery is not None and _dt(now_ms) >= self._next_discovery:
                assert self._discovery is not None
                self._next_discovery = self._discovery.get_next_fire_time(
                    self._next_discovery, _dt(now_ms))
                self._discover(now_ms)
        if self._next_review is not None and now_ms >= self._next_review:
            self._next_review = now_ms + self._review_ms
            self._review(now_ms)

    def close(self) -> None:
        """Stop: running backtests end after the current candidate."""
        self._cancel.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    # -- the stages --------------------------------------------------------------------------
    @property
    def _review_ms(self) -> int:
        return int(self.cfg.review_hours * HOUR_MS)

    def _schedule_discovery(self, now_ms: int) -> None:
        if not self.cfg.discovery_hours:
            return
        start = _dt(now_ms)
        self._discovery = IntervalTrigger(hours=self.cfg.discovery_hours, start_date=start,
                                          timezone=UTC)
        self._next_discovery = self._discovery.get_next_fire_time(
            None, start + timedelta(milliseconds=1))

    def _discover(self, now_ms: int) -> None:
        """Add the catalogue's new candidates and backtest what is due on the history
        before ``now``."""
        for c in self.parts.candidates():
            self.pipe.add(c, now_ms)
        due = [i.candidate for i in self.pipe.untested(now_ms)]
        optimise = self.parts.variants is not None and self.cfg.optimise_trials > 0 and (
            self._optimised is None
            or now_ms - self._optimised >= int(self.cfg.optimise_days * DAY_MS))
        if not due and not optimise:
            return
        if optimise:
            self._optimised = now_ms
        known = set(self.pipe.instances)
        self.parts.log.save(list(self.pipe.instances.values()), [], [], now_ms,
                            self.engine.account_equity())
        start = now_ms - int(self.cfg.backtest.lookback_days * DAY_MS)
        log.info("graduation pipeline: backtesting %d candidates on %s .. %s", len(due),
                 f"{ts(start):%Y-%m-%d}", f"{ts(now_ms):%Y-%m-%d %H:%M}")
        generation, cancel = self._generation, self._cancel
        self._progress(generation, 0, len(due), now_ms)

        def work() -> Found:
            found: list[Candidate] = []
            trials = 0
            if optimise and self.parts.variants is not None:
                best, trials = self.parts.variants(start, now_ms)
                found = [c for c in best if c.key not in known]
                due.extend(found)
            out: dict[str, Window] = {}
            for n, c in enumerate(due):
                if cancel.is_set():
                    break
                try:
                    out[c.key] = self.parts.backtest(c, start, now_ms).window(start, now_ms)
                except TradeloopError as exc:  # e.g. no stored candles: tried again later
                    log.warning("graduation pipeline: %s not backtested: %s", c.key, exc)
                self._progress(generation, n + 1, len(due), now_ms)
                if (n + 1) % 10 == 0 or n + 1 == len(due):
                    log.info("graduation pipeline: %d/%d backtests", n + 1, len(due))
            return Found(out, found, trials)

        if not self.background:
            self._judge(now_ms, work())
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix=THREAD)
            for name in QUIET:  # the backtests' per-candle lines stay out of the session's log
                logging.getLogger(name).addFilter(_quiet_backtests)
        self._job = self._pool.submit(work)

    def _progress(self, generation: int, done: int, total: int, at_ms: int) -> None:
        if generation != self._generation:  # a wiped run's backtests
            return
        self.progress = (done, total)
        if self.parts.progress is not None:
            self.parts.progress(done, total, at_ms)

    def _finish(self, now_ms: int) -> None:
        job, self._job = self._job, None
        assert job is not None
        try:
            found = job.result()
        except Exception as exc:  # a failed backtest must not stop the session
            log.exception("graduation pipeline: backtests failed")
            self.engine.store.error(now_ms, type(exc).__name__, str(exc)[:2000], None, None,
                                    "graduation")
            return
        self._judge(now_ms, found)

    def _judge(self, at_ms: int, found: Found) -> None:
        self.pipe.tried(found.trials)  # the studies' trials count for the deflated Sharpe
        for c in found.variants:
            self.pipe.add(c, at_ms)
        moved = self.pipe.backtest(at_ms, found.windows)
        for t in moved:
            if t.after is Stage.PAPER:
                self.engine.add_desk(self.parts.desk(self.pipe.instances[t.instance].candidate))
        self._record(at_ms, moved, [])
        if self._next_review is None and any(i.stage in TRADING
                                             for i in self.pipe.instances.values()):
            self._next_review = at_ms + self._review_ms

    def _review(self, now_ms: int) -> None:
        if self.parts.screen is not None:
            for message in self.parts.screen(now_ms):
                log.warning("⛔ %s", message)
                if self.notifier is not None:
                    self.notifier.notify("warning", "Symbol blacklisted", message)
        since = {k: i.paper_ms for k, i in self.pipe.instances.items()
                 if i.stage in TRADING and i.paper_ms is not None}
        if not since:
            return
        records = self.parts.records(since, now_ms)
        moved = self.pipe.review(now_ms, records)
        allocations = self.pipe.allocate(now_ms, records)
        self._record(now_ms, moved, allocations)  # decided: on record before anything moves
        for key, inst in self.pipe.instances.items():  # retired, or still closing
            if inst.stage is Stage.RETIRED and self.engine.desk(key) is not None:
                self._guarded(now_ms, key, partial(self.engine.remove_desk, key, now_ms,
                                                   "retired"))
        self._fund(now_ms, allocations)

    @property
    def _fundable(self) -> bool:
        return self.parts.fund is not None and self.engine.main.broker.funds_instances

    def _open_book(self, c: Candidate, now_ms: int) -> tuple[Desk, BrokerEvents]:
        """``c``'s book of the account (as an earlier run left it, if it did)."""
        assert self.parts.fund is not None
        return self.parts.fund(c, now_ms)

    def _book(self, c: Candidate, now_ms: int) -> Desk:
        """``c`` trades its book of the account."""
        desk, recovered = self._open_book(c, now_ms)
        self.engine.add_desk(desk)
        self.engine.apply(recovered, now_ms, desk)
        return desk

    def _guarded(self, now_ms: int, key: str, action: Callable[[], object]) -> None:
        """One instance's step: its error is recorded against it and the others go on."""
        try:
            action()
        except Exception as exc:
            log.exception("graduation pipeline: %s", key)
            self.engine.store.error(now_ms, type(exc).__name__, f"{key}: {exc}"[:2000], None,
                                    None, "graduation")
    def _fund(self, now_ms: int, allocations: list[Allocation]) -> None:
        """Give each instance of a real-money stage its allocated share of the account: its
        paper book is sold and it trades a book of the account's, funded from (and giving
        back to) the main desk at each rebalance. An account that cannot fund instances
        leaves them on their simulated books."""
        if not self._fundable:
            if allocations and not self._unfunded:
                self._unfunded = True
                log.warning("graduation pipeline: this account cannot fund instances: "
                            "live-candidate and live instances stay on their simulated books")
            return
        self._rebalance(now_ms, {a.instance: a.fraction for a in allocations})

    def _rebalance(self, now_ms: int, fractions: Mapping[str, float],
                   empty_only: bool = False) -> None:
        """Move each real-money instance's book to its fraction of the account (``empty_only``:
        only books without money, as a restarted simulated account's); an instance whose
        book fails is recorded and the others go on (it is tried again next time)."""
        equity = self.engine.account_equity()
        for key, inst in self.pipe.instances.items():
            if inst.stage not in REAL_CAPITAL:
                continue
            target = fractions.get(key, 0.0) * equity
            self._guarded(now_ms, key, partial(self._rebalance_one, now_ms, key, inst, target,
                                               empty_only))

    def _rebalance_one(self, now_ms: int, key: str, inst: Instance, target: float,
                       empty_only: bool) -> None:
        main, desk = self.engine.main, self.engine.desk(key)
        if desk is not None and (desk.risk.halted_reason or desk.closing):
            return
        if desk is None or not desk.account:
            if target <= 0 and desk is not None:
                return
            new, recovered = self._open_book(inst.candidate, now_ms)  # before anything stops
            if desk is not None and self.engine.remove_desk(key, now_ms, "funded") is None:
                return  # its paper book is not flat yet: funded at a later review
            self.engine.add_desk(new)
            self.engine.apply(recovered, now_ms, new)
            desk = new
        if empty_only and desk.broker.equity() > 0:
            return
        diff = target - desk.broker.equity()
        if diff > 0:
            self.engine.move_cash(main, desk, diff)
        elif diff < 0:
            self.engine.move_cash(desk, main, -diff)
        if target > 0 and key not in self._funded:
            self._funded.add(key)
            log.info("strategy %s trades %.2f of the account (%s)", key,
                     desk.broker.equity(), inst.stage)

    def _record(self, at_ms: int, moved: list[Transition], allocations: list[Allocation]
                ) -> None:
        self.parts.log.save(list(self.pipe.instances.values()), moved, allocations, at_ms,
                            self.engine.account_equity())
        for t in moved:
            log.info("✓ strategy %s: %s -> %s (%s)", t.instance, t.before, t.after, t.reason)
            if self.notifier is not None and t.after is not Stage.BACKTESTED:
                level = "warning" if t.after in (Stage.UNDER_REVIEW, Stage.RETIRED) else "info"
                self.notifier.notify(level, f"Strategy {t.after}",
                                     f"{t.instance}: {t.before} -> {t.after} ({t.reason})")

    def _counts(self) -> str:
        return ", ".join(f"{n} {s}" for s, n in self.pipe.counts().items() if n)


def _quiet_backtests(record: logging.LogRecord) -> bool:
    """Drop the pipeline thread's info lines (its backtests' candles and orders)."""
    return record.levelno >= logging.WARNING or not (record.threadName or "").startswith(THREAD)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
