"""The one writer (and reader) of ``strategy_instances``, ``strategy_transitions`` and
``strategy_allocations``: what a graduation pipeline decided, by pipeline (``live`` for the
session's, a rehearsal's id otherwise)."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from tradeloop.adapters.store.schema import (
    StrategyAllocationRow,
    StrategyInstanceRow,
    StrategyTransitionRow,
)
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.timestamps import ms_of, ts
from tradeloop.lifecycle.allocation import Allocation
from tradeloop.lifecycle.catalogue import candidate
from tradeloop.lifecycle.pipeline import Instance
from tradeloop.lifecycle.stages import Stage, Transition

log = logging.getLogger("tradeloop.graduation")
LIVE = "live"
TABLES = (StrategyInstanceRow, StrategyTransitionRow, StrategyAllocationRow)


def _json(value: Any) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return v
    return json.dumps(clean(value), sort_keys=True)


@dataclass(frozen=True)
class InstanceStatus:
    instance: str
    strategy: str
    symbol: str
    timeframe: str
    params: dict[str, Any]
    source: str
    stage: str
    stage_since: datetime
    fraction: float | None  # the last allocation
    judged_at: datetime | None
    verdict: dict[str, Any] | None  # the last judgement: reason and criteria


class GraduationRecords:
    """Rows of one pipeline."""

    def __init__(self, engine: Engine, pipeline: str = LIVE) -> None:
        self.engine, self.pipeline = engine, pipeline

    def save(self, instances: list[Instance], transitions: list[Transition],
             allocations: list[Allocation], at_ms: int, equity: float) -> None:
        """The instances' current stages, the new transitions and a rebalance, in one
        transaction."""
        with self.engine.begin() as conn:
            known = set(conn.execute(select(StrategyInstanceRow.instance).where(
                StrategyInstanceRow.pipeline == self.pipeline)).scalars())
            for inst in instances:
                c = inst.candidate
                values: dict[str, Any] = {"stage": inst.stage.value,
                                          "stage_since": ts(inst.since_ms)}
                if inst.verdict is not None and inst.judged_ms is not None:
                    v = inst.verdict
                    values.update(judged_at=ts(inst.judged_ms), verdict=_json({
                        "reason": v.reason, "criteria": {c.name: c.as_dict() for c in v.checks}}))
                if inst.key in known:
                    conn.execute(update(StrategyInstanceRow).where(
                        StrategyInstanceRow.pipeline == self.pipeline,
                        StrategyInstanceRow.instance == inst.key).values(**values))
                else:
                    conn.execute(insert(StrategyInstanceRow).values(
                        pipeline=self.pipeline, instance=inst.key, strategy=c.strategy,
                        symbol=c.symbol, timeframe=c.timeframe, params=_json(c.params),
                        source=c.source, created_at=ts(inst.created_ms), **values))
            for t in transitions:
                conn.execute(insert(StrategyTransitionRow).values(
                    pipeline=self.pipeline, instance=t.instance, from_stage=t.before.value,
                    to_stage=t.after.value, timestamp=ts(t.at_ms),
                    criteria=_json(t.criteria()), reason=t.reason))
            for a in allocations:
                conn.execute(insert(StrategyAllocationRow).values(
                    pipeline=self.pipeline, instance=a.instance, timestamp=ts(at_ms),
                    stage=a.stage.value, fraction=a.fraction, capital=a.fraction * equity,
                    score=a.score if math.isfinite(a.score) else 0.0, reason=a.reason))

    def fractions(self) -> dict[str, float]:
        """Each instance's latest allocation (a fraction of the account)."""
        last = select(StrategyAllocationRow.instance,
                      func.max(StrategyAllocationRow.id).label("id")).where(
            StrategyAllocationRow.pipeline == self.pipeline).group_by(
            StrategyAllocationRow.instance).subquery()
        latest = select(last.c.instance, StrategyAllocationRow.fraction).join(
            StrategyAllocationRow, StrategyAllocationRow.id == last.c.id)
        with self.engine.connect() as conn:
            return {k: float(v) for k, v in conn.execute(latest).all()}

    def status(self) -> list[InstanceStatus]:
        fractions = self.fractions()
        with self.engine.connect() as conn:
            rows = conn.execute(select(StrategyInstanceRow).where(
                StrategyInstanceRow.pipeline == self.pipeline).order_by(
                StrategyInstanceRow.id)).all()
        return [InstanceStatus(r.instance, r.strategy, r.symbol, r.timeframe,
                               json.loads(r.params), r.source, r.stage, r.stage_since,
                               fractions.get(r.instance), r.judged_at,
                               json.loads(r.verdict) if r.verdict else None) for r in rows]

    def load(self) -> tuple[list[Instance], int]:
        """The pipeline's instances as it left them (a restarted session takes them up) and
        the backtests it judged (at least one per instance: re-tests are not counted)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(StrategyInstanceRow).where(
                StrategyInstanceRow.pipeline == self.pipeline).order_by(
                StrategyInstanceRow.id)).all()
            moves = conn.execute(select(StrategyTransitionRow).where(
                StrategyTransitionRow.pipeline == self.pipeline).order_by(
                StrategyTransitionRow.id)).all()
        out: list[Instance] = []
        for r in rows:
            try:
                c = candidate(r.strategy, r.symbol, r.timeframe, json.loads(r.params),
                              r.source)
            except (TradeloopError, ValueError) as exc:  # a strategy or schema since changed
                log.warning("graduation pipeline: stored instance %s skipped: %s",
                            r.instance, exc)
                continue
            inst = Instance(r.instance, c, Stage(r.stage), ms_of(r.stage_since),
                            ms_of(r.created_at),
                            judged_ms=ms_of(r.judged_at) if r.judged_at else None)
            for m in moves:
                if m.instance != r.instance:
                    continue
                at = ms_of(m.timestamp)
                if m.to_stage == Stage.PAPER.value:
                    inst.paper_ms = at
                if m.from_stage == Stage.PAPER.value:
                    inst.paper_end_ms = at
                if m.to_stage == Stage.UNDER_REVIEW.value:
                    inst.reviewed_ms = at
                if m.to_stage in (Stage.BACKTESTED.value, Stage.PAPER.value):
                    inst.backtested_ms = at
            out.append(inst)
        return out, sum(1 for r in rows if r.judged_at is not None)

    def transitions(self, limit: int | None = None) -> list[dict[str, Any]]:
        q = select(StrategyTransitionRow).where(
            StrategyTransitionRow.pipeline == self.pipeline).order_by(
            StrategyTransitionRow.id.desc())
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{"instance": r.instance, "from": r.from_stage, "to": r.to_stage,
                 "time": r.timestamp, "criteria": json.loads(r.criteria), "reason": r.reason}
                for r in reversed(rows)]

    def allocations(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(StrategyAllocationRow).where(
                StrategyAllocationRow.pipeline == self.pipeline).order_by(
                StrategyAllocationRow.id)).all()
        return [{"instance": r.instance, "time": r.timestamp, "stage": r.stage,
                 "fraction": r.fraction, "capital": r.capital, "score": r.score,
                 "reason": r.reason} for r in rows]

    def clear(self) -> int:
        """Delete this pipeline's rows (Wipe Data clears the live one); returns how many."""
        n = 0
        with self.engine.begin() as conn:
            for table in TABLES:
                n += conn.execute(delete(table).where(table.pipeline == self.pipeline)
                                  ).rowcount or 0
        return n


def pipelines(engine: Engine) -> list[str]:
    """Every pipeline with instances, the most recent first."""
    with engine.connect() as conn:
        rows = conn.execute(select(StrategyInstanceRow.pipeline,
                                   func.max(StrategyInstanceRow.id).label("last"))
                            .group_by(StrategyInstanceRow.pipeline)
                            .order_by(func.max(StrategyInstanceRow.id).desc())).all()
    return [r.pipeline for r in rows]
