"""The one writer and reader of ``symbol_blacklist``: symbols no strategy instance may enter,
listed automatically (consistently poor results across strategies) or by the operator, each
with a reason and an expiry, and reversible (lifted early, by whom)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from tradeloop.adapters.store.schema import SymbolBlacklistRow
from tradeloop.domain.timestamps import ts

SOURCES = ("auto", "operator")


@dataclass(frozen=True)
class BlacklistEntry:
    id: int
    symbol: str
    reason: str
    source: str
    created_at: datetime
    expires_at: datetime
    lifted_at: datetime | None
    lifted_by: str | None


class Blacklist:
    """Rows of ``symbol_blacklist``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, symbol: str, reason: str, source: str, now_ms: int, hours: float) -> int:
        if source not in SOURCES:
            raise ValueError(f"unknown blacklist source {source!r}")
        with self.engine.begin() as conn:
            key = conn.execute(insert(SymbolBlacklistRow).values(
                symbol=symbol, reason=reason[:2000], source=source, created_at=ts(now_ms),
                expires_at=ts(now_ms + int(hours * 3_600_000)))).inserted_primary_key
        assert key is not None
        return int(key[0])

    def lift(self, symbol: str, now_ms: int, by: str) -> int:
        """End the symbol's active entries now; returns how many."""
        with self.engine.begin() as conn:
            n = conn.execute(update(SymbolBlacklistRow).where(
                SymbolBlacklistRow.symbol == symbol, SymbolBlacklistRow.lifted_at.is_(None),
                SymbolBlacklistRow.expires_at > ts(now_ms)).values(
                lifted_at=ts(now_ms), lifted_by=by[:64])).rowcount
        return int(n or 0)

    def active(self, now_ms: int) -> dict[str, str]:
        """Symbol -> the reason of its latest entry in force at ``now``."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(SymbolBlacklistRow.symbol, SymbolBlacklistRow.reason,
                                       SymbolBlacklistRow.expires_at).where(
                SymbolBlacklistRow.lifted_at.is_(None),
                SymbolBlacklistRow.expires_at > ts(now_ms)).order_by(
                SymbolBlacklistRow.id)).all()
        return {s: f"{s} blacklisted until {until:%Y-%m-%d %H:%M} UTC: {reason}"
                for s, reason, until in rows}

    def entries(self, limit: int = 100) -> list[BlacklistEntry]:
        """The latest entries, newest first (in force, expired and lifted)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(SymbolBlacklistRow.__table__).order_by(
                SymbolBlacklistRow.id.desc()).limit(limit)).all()
        return [BlacklistEntry(r.id, r.symbol, r.reason, r.source, r.created_at, r.expires_at,
                               r.lifted_at, r.lifted_by) for r in rows]
