"""The graduation pipeline: instances, their stages and what each review decides.

Pure and clock-free: ``backtest`` and ``review`` take the decision time and the track
records (from a replay in a rehearsal, from the instances' trades in a session) and return
the transitions; ``allocate`` returns the capital rows. The caller stores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tradeloop.lifecycle import criteria
from tradeloop.lifecycle.allocation import Allocation, Claim, allocate
from tradeloop.lifecycle.catalogue import Candidate
from tradeloop.lifecycle.record import DAY_MS, TrackRecord, Window
from tradeloop.lifecycle.stages import REAL_CAPITAL, Check, Stage, Transition
from tradeloop.settings.schema import CapitalBand, GraduationSettings


@dataclass
class Instance:
    """A strategy instance in the pipeline."""

    key: str
    candidate: Candidate
    stage: Stage
    since_ms: int  # entered its stage
    created_ms: int
    paper_ms: int | None = None  # entered paper
    paper_end_ms: int | None = None  # left paper
    reviewed_ms: int | None = None  # entered under_review
    backtested_ms: int | None = None  # its last backtest
    verdict: criteria.Verdict | None = None  # the last judgement, moved or not
    judged_ms: int | None = None


class Pipeline:
    """Every instance the pipeline has seen, and the count of what it tried."""

    def __init__(self, cfg: GraduationSettings) -> None:
        self.cfg = cfg
        self.instances: dict[str, Instance] = {}
        self.backtests = 0  # backtests judged: the deflated Sharpe's trials

    def add(self, candidate: Candidate, at_ms: int) -> Instance | None:
        """A new candidate; None if the same strategy + parameters + symbol + timeframe is
        already in the pipeline."""
        if candidate.key in self.instances:
            return None
        inst = Instance(candidate.key, candidate, Stage.CANDIDATE, at_ms, at_ms)
        self.instances[candidate.key] = inst
        return inst

    def _move(self, inst: Instance, after: Stage, at_ms: int, verdict_reason: str,
              checks: tuple[Check, ...] = ()) -> Transition:
        t = Transition(inst.key, inst.stage, after, at_ms, verdict_reason, checks)
        if inst.stage is Stage.PAPER:
            inst.paper_end_ms = at_ms
        if after is Stage.PAPER:
            inst.paper_ms = at_ms
        if after is Stage.UNDER_REVIEW:
            inst.reviewed_ms = at_ms
        inst.stage, inst.since_ms = after, at_ms
        return t

    def backtest(self, at_ms: int, windows: Mapping[str, Window]) -> list[Transition]:
        """Judge the backtests of ``windows`` (instance -> its record before ``at_ms``) as
        one batch: all of them count as tried before any is judged."""
        judged = [k for k in windows if self.instances[k].stage in (Stage.CANDIDATE,
                                                                    Stage.BACKTESTED)]
        self.backtests += len(judged)
        out: list[Transition] = []
        for k in judged:
            inst, w = self.instances[k], windows[k]
            inst.backtested_ms = at_ms
            v = criteria.backtest(w, self.cfg.backtest, self.backtests)
            inst.verdict, inst.judged_ms = v, at_ms
            if inst.stage is Stage.CANDIDATE:
                out.append(self._move(inst, Stage.BACKTESTED, at_ms, v.reason, v.checks))
            if v.after is Stage.PAPER:
                out.append(self._move(inst, Stage.PAPER, at_ms, v.reason, v.checks))
        return out

    def tried(self, trials: int) -> None:
        """``trials`` backtests judged outside the pipeline's own (an optimisation study's
        trials, of which the pipeline then sees only the best)."""
        self.backtests += trials

    def untested(self, at_ms: int) -> list[Instance]:
        """Candidates never backtested, and rejected ones whose last backtest is at least
        ``retest_days`` old (each new backtest counts as one more trial)."""
        gap = int(self.cfg.backtest.retest_days * DAY_MS)
        return [i for i in self.instances.values() if i.stage is Stage.CANDIDATE
                or (i.stage is Stage.BACKTESTED and i.backtested_ms is not None
                    and at_ms - i.backtested_ms >= gap)]

    def review(self, at_ms: int, records: Mapping[str, TrackRecord]) -> list[Transition]:
        """Judge every trading instance on its record up to ``at_ms``."""
        c = self.cfg
        tried = sum(1 for i in self.instances.values() if i.paper_ms is not None)
        out: list[Transition] = []
        for inst in list(self.instances.values()):
            rec = records.get(inst.key)
            if rec is None:
                continue
            stage_window = rec.window(inst.since_ms, at_ms)
            recent = rec.window(max(inst.since_ms, at_ms - int(c.review.window_days * DAY_MS)),
                                at_ms)
            if inst.stage is Stage.PAPER:
                v = criteria.paper(stage_window, c.paper, tried)
            elif inst.stage is Stage.LIVE_CANDIDATE:
                assert inst.paper_ms is not None and inst.paper_end_ms is not None
                v = criteria.live_candidate(stage_window,
                                            rec.window(inst.paper_ms, inst.paper_end_ms),
                                            c.live_candidate)
            elif inst.stage is Stage.LIVE:
                v = criteria.live(recent, c.review)
            elif inst.stage is Stage.UNDER_REVIEW:
                assert inst.reviewed_ms is not None
                rolling = rec.window(at_ms - int(c.review.window_days * DAY_MS), at_ms)
                v = criteria.under_review(rolling, stage_window, c.review)
            else:
                continue
            inst.verdict, inst.judged_ms = v, at_ms
            if v.after is not None:
                out.append(self._move(inst, v.after, at_ms, v.reason, v.checks))
        return out

    def bands(self) -> dict[Stage, CapitalBand]:
        live = self.cfg.live.capital
        return {Stage.LIVE_CANDIDATE: self.cfg.live_candidate.capital, Stage.LIVE: live,
                Stage.UNDER_REVIEW: CapitalBand(min_percent=live.min_percent,
                                                max_percent=live.min_percent)}

    def allocate(self, at_ms: int, records: Mapping[str, TrackRecord]) -> list[Allocation]:
        """Capital for every instance trading real money, from its record since paper."""
        claims: list[Claim] = []
        for inst in self.instances.values():
            if inst.stage not in REAL_CAPITAL or inst.key not in records:
                continue
            assert inst.paper_ms is not None
            w = records[inst.key].window(inst.paper_ms, at_ms)
            claims.append(Claim(inst.key, inst.stage, w.sharpe_lower(), w.volatility))
        return allocate(claims, self.bands(), self.cfg.cash_reserve_percent / 100)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Stage}
        for inst in self.instances.values():
            out[inst.stage.value] += 1
        return out
