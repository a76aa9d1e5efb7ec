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
