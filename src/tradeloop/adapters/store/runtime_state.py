"""Operator choices kept in the database so they outlive a deployment: the active strategy
and the symbols an operator paused. Read at the start of every session."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from tradeloop.adapters.store.schema import RuntimeStateRow
from tradeloop.domain.timestamps import ts

STRATEGY = "strategy"
PAUSED = "paused_symbols"
GRADUATION_PROGRESS = "graduation_progress"  # the live pipeline's backtests: done, total, at
MODEL_AGES = "model_ages"  # the running session's model age per series and its budget


class RuntimeState:
    """Key -> JSON value, with who set it and when."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str, default: Any = None) -> Any:
        with self.engine.connect() as conn:
            raw = conn.execute(select(RuntimeStateRow.value).where(RuntimeStateRow.key == key)
                               ).scalar_one_or_none()
        return default if raw is None else json.loads(raw)

    def put(self, key: str, value: Any, now_ms: int, by: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(RuntimeStateRow).where(RuntimeStateRow.key == key))
            conn.execute(insert(RuntimeStateRow).values(
                key=key, value=json.dumps(value), updated_at=ts(now_ms), updated_by=by[:64]))

    def model_ages(self, deployment_id: int | None) -> dict[str, Any] | None:
        """The model ages a deployment's session wrote last (``series`` -> hours, the
        ``budget_hours``, ``as_of_ms``) with its ``oldest`` series; None when it wrote
        none (``deployment_id`` None: whichever session wrote them)."""
        ages = self.get(MODEL_AGES)
        if not ages or not ages.get("series") or (
                deployment_id is not None and ages.get("deployment_id") != deployment_id):
            return None
        series = ages["series"]
        return {**ages, "oldest": max(series, key=lambda k: (series[k], k))}

    def strategy(self, default: str) -> str:
        return str(self.get(STRATEGY, default))

    def paused(self) -> set[str]:
        return set(self.get(PAUSED, []))

    def set_paused(self, symbol: str, paused: bool, now_ms: int, by: str) -> None:
        current: set[str] = self.paused()
        if paused:
            current.add(symbol)
        else:
            current.discard(symbol)
        self.put(PAUSED, sorted(current), now_ms, by)
