"""The graduation pipeline rehearsed on history (``tradeloop graduation --replay``).

Every candidate is replayed once through the one runner on SimBroker over the rehearsal's
window and the backtest lookback before it (rule strategies: nothing is trained, nothing
written); its track record is the daily returns and closed trades of that replay. The
pipeline then steps through the window at simulated time: at each review it judges, for
every instance, only the part of the record before the decision (the backtest on the
``lookback_days`` before it, paper on the days since it entered paper, ...), moves stages,
and rebalances the capital of the instances trading real money; the account's equity is the
sum of those allocations' returns until the next review. The replay of a candidate does not
depend on its stage (SimBroker fills the same orders in every stage), which is why one replay
per candidate serves every stage.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.adapters.store.graduation_records import (
    LIVE,
    GraduationRecords,
    InstanceStatus,
    pipelines,
)
from tradeloop.adapters.store.instance_queries import InstancePerformance, instance_performance
from tradeloop.adapters.store.runtime_state import GRADUATION_PROGRESS, RuntimeState
from tradeloop.app.stores import open_store
from tradeloop.deploy.live_pipeline import LivePipeline, PipelineParts
from tradeloop.deploy.session import SessionStore
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import ConfigError
from tradeloop.domain.timestamps import ts
from tradeloop.domain.trading import BrokerEvents
from tradeloop.engine.engine import Engine
from tradeloop.lifecycle.allocation import Allocation
from tradeloop.lifecycle.catalogue import Candidate, candidate, catalogue
from tradeloop.lifecycle.pipeline import Pipeline
from tradeloop.lifecycle.record import DAY_MS, TrackRecord, TradeMark, Window
from tradeloop.lifecycle.stages import Stage, Transition
from tradeloop.ports import Books, Notifier, StoreHandle
from tradeloop.research.walk_forward import daily_returns
from tradeloop.settings import Settings
from tradeloop.strategies.catalog import spec_of

log = logging.getLogger("tradeloop.graduation")
HOUR_MS = 3_600_000


def candidate_settings(settings: Settings, c: Candidate) -> Settings:
    """The settings of one candidate's replay: its strategy and parameters on its symbol and
    timeframe only."""
    data = settings.model_dump()
    data["timeframes"] = {"intervals": [{"interval": c.timeframe, "weight": 1.0}]}
    data["symbols"] = [c.symbol]
    data["trading"]["strategy"] = c.strategy
    data["trading"]["params"] = {**data["trading"]["params"], spec_of(c.strategy).key: c.params}
    return settings.rebuilt(data)


def track_record(settings: Settings, store: StoreHandle, c: Candidate, start_ms: int,
                 end_ms: int) -> TrackRecord:
    """Replay ``c`` over ``[start, end)`` on SimBroker: its daily returns and trades."""
    from tradeloop.app.backtests import run_backtest

    s = candidate_settings(settings, c)
    res = run_backtest(s, store, [c.symbol], start_ms, end_ms, files=False, record=False,
                       retraining=False)
    curve = [(t, e) for t, e in res.engine.equity_curve if start_ms < t <= end_ms]
    times = np.array([t for t, _ in curve], dtype=np.int64)
    equity = np.array([e for _, e in curve], dtype=np.float64)
    initial = settings.trading.initial_balance
    returns = daily_returns(times, equity, start_ms, end_ms, initial)
    marks = tuple(sorted((TradeMark(t.entry_time_ms, t.exit_time_ms, t.pnl / initial)
                          for t, _ in res.engine.trades), key=lambda m: m.exit_ms))
    return TrackRecord(start_ms, returns, marks)


@dataclass
class Rehearsal:
    """What a rehearsal decided, day by day."""

    pipeline: str
    start_ms: int
    end_ms: int
    candidates: list[Candidate]
    skipped: dict[str, str]  # candidate key -> why it was not replayed
    transitions: list[Transition] = field(default_factory=list)
    allocations: list[tuple[int, Allocation]] = field(default_factory=list)
    equity: list[tuple[int, float]] = field(default_factory=list)  # account, per day
    stages: dict[str, str] = field(default_factory=dict)  # final stage per instance
    backtests: int = 0
    seconds: float = 0.0
    report_path: Path | None = None
    studies: list[str] = field(default_factory=list)  # the optimisation studies it ran

    def final_allocations(self) -> dict[str, float]:
        if not self.allocations:
            return {}
        last = max(t for t, _ in self.allocations)
        return {a.instance: a.fraction for t, a in self.allocations if t == last}

    def reached(self, stage: Stage) -> set[str]:
        """Instances that were ever in ``stage``."""
        return {t.instance for t in self.transitions if t.after is stage}

    def account(self) -> dict[str, float | None]:
        if not self.equity:
            return {"total_return": 0.0, "max_drawdown": 0.0}
        eq = np.array([e for _, e in self.equity])
        curve = np.concatenate(([eq[0]], eq)) if len(eq) else eq
        peak = np.maximum.accumulate(curve)
        return {"start_equity": float(self.equity[0][1]), "end_equity": float(eq[-1]),
                "total_return": float(eq[-1] / self.equity[0][1] - 1.0),
                "max_drawdown": float(np.max(1.0 - curve / peak))}


def _missing(store: StoreHandle, c: Candidate, exchange: str, start_ms: int) -> str | None:
    key = SeriesKey(exchange, c.symbol, c.timeframe)
    if store.candles.count(key) == 0:
        return f"no stored {c.symbol} {c.timeframe} candles"
    last = store.candles.last_open_time(key)
    if last is None or last < start_ms:
        return f"stored {c.symbol} {c.timeframe} candles end before the window"
    return None


def rehearse(settings: Settings, store: StoreHandle, start_ms: int, end_ms: int, *,
             progress: Callable[[str, int, int], None] | None = None,
             write: bool = True) -> Rehearsal:
    """Run the pipeline at simulated time over ``[start, end)``; ``write`` stores its rows
    under a ``rehearsal-<time>`` pipeline and the JSON report in the reports folder."""
    g = settings.graduation
    if end_ms <= start_ms:
        raise ConfigError("the rehearsal's --to must be after its --from")
    step = int(g.review_hours * HOUR_MS)
    if end_ms - start_ms < 2 * step:
        raise ConfigError(f"the rehearsal's window is shorter than two reviews of "
                          f"{g.review_hours:g} h")
    started = datetime.now(UTC)
    lookback = int(g.backtest.lookback_days * DAY_MS)
    origin = (start_ms - lookback) // DAY_MS * DAY_MS
    cands = catalogue(settings)
    skipped: dict[str, str] = {}
    records: dict[str, TrackRecord] = {}
    for i, c in enumerate(cands):
        if progress is not None:
            progress(f"replaying {c.key}", i, len(cands))
        why = _missing(store, c, settings.exchange.name, start_ms)
        if why is not None:
            skipped[c.key] = why
            continue
        records[c.key] = track_record(settings, store, c, origin, end_ms)
    if not records:
        raise ConfigError("no candidate has stored candles in the window: "
                          + "; ".join(sorted(set(skipped.values()))))
    name = f"rehearsal-{started:%Y%m%d%H%M%S}"
    out = Rehearsal(name, start_ms, end_ms, cands, skipped)
    pipe = Pipeline(g)
    for c in cands:
        if c.key in records:
            pipe.add(c, start_ms)
    db = GraduationRecords(store.engine, name) if write else None
    discovery = int(g.discovery_hours * HOUR_MS)
    last_discovery: int | None = None
    optimise_every = int(g.optimise_days * DAY_MS)
    last_optimised: int | None = None
    equity = settings.trading.initial_balance
    weights: dict[str, float] = {}
    times = list(range(start_ms, end_ms, step))
    for n, t in enumerate(times):
        if progress is not None:
            progress(f"review {ts(t):%Y-%m-%d %H:%M}", n, len(times))
        moved: list[Transition] = []
        if g.optimise_trials and (last_optimised is None or t - last_optimised >= optimise_every):
            found, trials, studies = variants(
                settings, [c for c in cands if c.key in records], t - lookback, t, name)
            pipe.tried(trials)  # the studies' trials count for the deflated Sharpe
            out.studies += studies
            for c in found:
                if pipe.add(c, t) is not None:  # new strategy + parameters: a candidate
                    records[c.key] = track_record(settings, store, c, origin, end_ms)
                    out.candidates.append(c)
            last_optimised = t
        if last_discovery is None or (discovery and t - last_discovery >= discovery):
            untested = pipe.untested(t)
            moved += pipe.backtest(t, {i.key: records[i.key].window(t - lookback, t)
                                       for i in untested})
            last_discovery = t
        moved += pipe.review(t, records)
        allocations = pipe.allocate(t, records)
        weights = {a.instance: a.fraction for a in allocations}
        out.transitions += moved
        out.allocations += [(t, a) for a in allocations]
        for tr in moved:
            log.info("%s %s: %s -> %s (%s)", ts(tr.at_ms), tr.instance, tr.before, tr.after,
                     tr.reason)
        if db is not None:
            db.save(list(pipe.instances.values()), moved, allocations, t, equity)
        nxt = times[n + 1] if n + 1 < len(times) else end_ms
        for day in range(t // DAY_MS * DAY_MS, nxt, DAY_MS):  # the account until next review
            if day < t:
                continue
            day_ret = sum(w * _day_return(records[k], day) for k, w in weights.items())
            equity *= 1.0 + day_ret
            out.equity.append((day + DAY_MS, equity))
    out.stages = {k: i.stage.value for k, i in pipe.instances.items()}
    out.backtests = pipe.backtests
    out.seconds = (datetime.now(UTC) - started).total_seconds()
    if write:
        out.report_path = write_report(settings, out)
    return out


def variants(settings: Settings, base: list[Candidate], start_ms: int, end_ms: int,
             pipeline: str) -> tuple[list[Candidate], int, list[str]]:
    """One optuna study (``graduation.optimise_trials``) per rule strategy x symbol x
    timeframe of the catalogue on ``[start, end)``; its best trial is a candidate (the
    pipeline de-duplicates it against what it holds). Returns the candidates, the trials
    run and the studies' names."""
    from tradeloop.app.optimisation import StudySpec, run_study

    g = settings.graduation
    folds = max(1, min(4, int((end_ms - start_ms) // DAY_MS) // 4 - 1))
    found: list[Candidate] = []
    trials, names = 0, []
    combos = dict.fromkeys((c.strategy, c.symbol, c.timeframe) for c in base
                           if c.source == "catalogue" and spec_of(c.strategy).schema.params
                           and not spec_of(c.strategy).needs_models)
    for strategy, symbol, tf in combos:
        spec = StudySpec(strategy, symbol, tf, start_ms, end_ms, "sharpe", "tpe",
                         min_trades=g.backtest.min_trades, folds=folds)
        study = run_study(settings, spec, g.optimise_trials, name=(
            f"{pipeline}-{strategy}-{symbol.replace('/', '')}-{tf}-{ts(end_ms):%Y%m%d%H%M}"))
        trials += study.trials
        names.append(study.name)
        if study.best_number is not None:
            found.append(candidate(strategy, symbol, tf, study.best_params, source=study.name))
    return found, trials, names


def _day_return(record: TrackRecord, day_ms: int) -> float:
    i = (day_ms - record.origin_ms) // DAY_MS
    return float(record.returns[i]) if 0 <= i < len(record.returns) else 0.0


def _window_dict(w: Window) -> dict[str, Any]:
    sharpe = w.sharpe
    return {"days": w.days, "trades": len(w.trades), "total_return": w.total_return,
            "sharpe": sharpe if sharpe is not None and math.isfinite(sharpe) else None,
            "max_drawdown": w.max_drawdown}


def report(r: Rehearsal) -> dict[str, Any]:
    """The rehearsal as JSON-safe data."""
    finals = r.final_allocations()
    return {
        "pipeline": r.pipeline, "from": ts(r.start_ms).isoformat(),
        "to": ts(r.end_ms).isoformat(), "seconds": round(r.seconds, 2),
        "backtests_judged": r.backtests, "studies": r.studies,
        "stages": {s.value: sum(1 for v in r.stages.values() if v == s.value) for s in Stage},
        "reached": {s.value: len(r.reached(s)) for s in Stage},
        "account": r.account(),
        "candidates": [{"instance": c.key, "strategy": c.strategy, "symbol": c.symbol,
                        "timeframe": c.timeframe, "params": c.params, "source": c.source,
                        "stage": r.stages.get(c.key, "skipped"),
                        "skipped": r.skipped.get(c.key),
                        "allocation": finals.get(c.key)} for c in r.candidates],
        "transitions": [{"instance": t.instance, "from": t.before.value, "to": t.after.value,
                         "time": ts(t.at_ms).isoformat(), "reason": t.reason,
                         "criteria": t.criteria()} for t in r.transitions],
        "allocations": [{"time": ts(t).isoformat(), "instance": a.instance,
                         "stage": a.stage.value, "fraction": a.fraction, "reason": a.reason}
                        for t, a in r.allocations],
        "equity": [[ts(t).isoformat(), e] for t, e in r.equity],
    }


def write_report(settings: Settings, r: Rehearsal) -> Path:
    folder = settings.path(settings.paths.reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"graduation_{r.pipeline.removeprefix('rehearsal-')}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_finite(report(r)), indent=2))
    tmp.replace(path)
    return path


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


@dataclass
class PipelineStatus:
    """What ``tradeloop strategy status`` and the dashboard's Pipeline view show of one
    pipeline."""

    pipeline: str | None  # None: no pipeline has instances yet
    known: list[str]  # every pipeline with instances, the most recent first
    instances: list[InstanceStatus]
    transitions: list[dict[str, Any]]
    allocations: list[dict[str, Any]] = field(default_factory=list)
    reached: dict[str, int] = field(default_factory=dict)  # ever in each stage: the funnel
    # the live pipeline's: each instance's figures from its trades, the backtests' progress
    performance: dict[str, InstancePerformance] = field(default_factory=dict)
    progress: dict[str, Any] | None = None

    def now(self) -> datetime:
        """The pipeline's present: the wall clock for the live one, a rehearsal's last
        judgement (simulated time) otherwise."""
        if self.pipeline == LIVE or not self.instances:
            return datetime.now(UTC).replace(tzinfo=None)
        judged = [i.judged_at for i in self.instances if i.judged_at is not None]
        return max(judged) if judged else max(i.stage_since for i in self.instances)


def read_pipeline(store: StoreHandle, pipeline: str | None = None,
                  transitions: int | None = 20, allocations: bool = False,
                  capital: float = 10_000.0) -> PipelineStatus:
    """The live pipeline (or ``pipeline``; else the most recent rehearsal); ``capital``:
    the book each live instance trades (its figures' base)."""
    known = pipelines(store.engine)
    if pipeline is not None and pipeline not in known:
        raise ConfigError(f"no graduation pipeline named {pipeline!r}; stored: "
                          f"{', '.join(known) or 'none'}")
    name = pipeline or (LIVE if LIVE in known else (known[0] if known else None))
    if name is None:
        return PipelineStatus(None, known, [], [])
    records = GraduationRecords(store.engine, name)
    instances, moves = records.status(), records.transitions()
    ever: dict[str, set[str]] = {s.value: set() for s in Stage}
    for i in instances:
        ever[Stage.CANDIDATE.value].add(i.instance)
        ever[i.stage].add(i.instance)
    for t in moves:
        ever[t["to"]].add(t["instance"])
    shown = moves if transitions is None else moves[len(moves) - transitions:] \
        if transitions else []
    live = name == LIVE
    perf = {p.instance: p for p in instance_performance(
        store.engine, capital, [i.instance for i in instances])} if live else {}
    return PipelineStatus(name, known, instances, shown,
                          records.allocations() if allocations else [],
                          {k: len(v) for k, v in ever.items()}, perf,
                          RuntimeState(store.engine).get(GRADUATION_PROGRESS) if live else None)


def pipeline_status(settings: Settings, pipeline: str | None = None,
                    transitions: int | None = 20) -> PipelineStatus:
    """:func:`read_pipeline` on a store opened for the call (the CLI)."""
    store = open_store(settings)
    try:
        return read_pipeline(store, pipeline, transitions,
                             capital=settings.trading.initial_balance)
    finally:
        store.close()


def screen_symbols(settings: Settings, handle: StoreHandle, modes: set[str]
                   ) -> Callable[[int], list[str]]:
    """Seed 003's screen: blacklist (for ``risk.auto_blacklist.hours``) the symbols whose
    trades of the last ``window_days`` in ``modes``, across instances, are consistently
    poor; returns what it listed."""
    from tradeloop.adapters.store.blacklist_records import Blacklist
    from tradeloop.adapters.store.instance_queries import symbol_results
    from tradeloop.lifecycle.blacklist import screen

    cfg = settings.risk.auto_blacklist

    def run(now_ms: int) -> list[str]:
        results = symbol_results(handle.engine, now_ms - int(cfg.window_days * DAY_MS), now_ms,
                                 modes)
        book = Blacklist(handle.engine)
        listed = book.active(now_ms)
        out = []
        for v in screen(results, cfg):
            if v.listed and v.symbol not in listed:
                book.add(v.symbol, v.reason, "auto", now_ms, cfg.hours)
                out.append(f"{v.symbol} blacklisted for {cfg.hours:g} h: {v.reason}")
        return out
    return run


def session_pipeline(settings: Settings, handle: StoreHandle, *, background: bool,
                     notifier: Notifier | None = None
                     ) -> Callable[[Engine, SessionStore, list[str], Books | None], LivePipeline]:
    """The graduation pipeline of a session: candidates on the session's series, backtested
    on the stored candles, paper desks on SimBroker books of the configured initial balance
    (their rows in mode ``paper``, under the live pipeline's id); the real-money stages on
    books of the session's account (``books``: its simulated books or its exchange
    sub-ledgers)."""
    from tradeloop.adapters.broker.sim import SimBroker
    from tradeloop.adapters.store.instance_queries import instance_trades
    from tradeloop.domain.risk import RiskManager
    from tradeloop.engine.assembly import risk_limits
    from tradeloop.engine.desks import Desk
    from tradeloop.lifecycle.record import from_trades
    from tradeloop.strategies.catalog import make_strategy

    t = settings.trading
    capital = t.initial_balance

    def make(engine: Engine, store: SessionStore, symbols: list[str], books: Books | None
             ) -> LivePipeline:
        def candidates() -> list[Candidate]:
            tfs = set(settings.timeframes.names)
            return [c for c in catalogue(settings) if c.symbol in symbols and c.timeframe in tfs]

        def backtest(c: Candidate, start_ms: int, end_ms: int) -> TrackRecord:
            return track_record(settings, handle, c, start_ms, end_ms)

        def records(since: Mapping[str, int], now_ms: int) -> dict[str, TrackRecord]:
            trades = instance_trades(handle.engine, list(since))
            return {k: from_trades(s, now_ms, trades.get(k, []), capital)
                    for k, s in since.items()}

        def desk(c: Candidate) -> Desk:
            return Desk(c.key, make_strategy(c.strategy, c.params),
                        SimBroker(capital, t.fee_bps, t.slippage_bps),
                        RiskManager(risk_limits(settings, c.strategy), capital),
                        store.for_instance(c.key, "paper"), frozenset({c.symbol}),
                        c.timeframe, account=False)

        def progress(done: int, total: int, at_ms: int) -> None:
            RuntimeState(handle.engine).put(GRADUATION_PROGRESS, {
                "done": done, "total": total, "as_of": ts(at_ms).isoformat()}, at_ms,
                "graduation")

        def optimised(start_ms: int, end_ms: int) -> tuple[list[Candidate], int]:
            found, trials, _ = variants(settings, candidates(), start_ms, end_ms, LIVE)
            return found, trials

        def fund(c: Candidate, now_ms: int) -> tuple[Desk, BrokerEvents]:
            assert books is not None
            strategy, limits = make_strategy(c.strategy, c.params), risk_limits(settings,
                                                                                c.strategy)
            view = store.for_instance(c.key)
            setup = books(c.key, [c.symbol], view)
            events = setup.recover(setup.broker, now_ms)  # what an earlier run left
            return Desk(c.key, strategy, setup.broker,
                        RiskManager(limits, setup.broker.equity()), view,
                        frozenset({c.symbol}), c.timeframe), events

        parts = PipelineParts(candidates, backtest, records, desk,
                              GraduationRecords(handle.engine, LIVE), progress,
                              screen_symbols(settings, handle, {store.mode, "paper"})
                              if settings.risk.auto_blacklist.enabled else None,
                              optimised if settings.graduation.optimise_trials else None,
                              fund if books is not None else None)
        return LivePipeline(settings.graduation, engine, parts, background=background,
                            notifier=notifier)
    return make
