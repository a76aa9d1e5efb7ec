"""The control channel: operators (CLI, dashboard, deploy script) queue commands in the
``control_commands`` table; the running engine's loop picks them up and answers each."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select, update

from tradeloop.adapters.store.schema import ControlCommandRow
from tradeloop.domain.commands import COMMANDS, ControlCommand
from tradeloop.domain.timestamps import ts


class ControlChannel:
    """Queue and answer operator commands in the database (works across processes)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def request(self, command: str, now_ms: int, *, symbol: str | None = None,
                timeframe: str | None = None, argument: str | None = None,
                requested_by: str = "cli") -> int:
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}; expected one of {COMMANDS}")
        with self.engine.begin() as conn:
            key = conn.execute(insert(ControlCommandRow).values(
                created_at=ts(now_ms), command=command, symbol=symbol, timeframe=timeframe,
                argument=argument, requested_by=requested_by[:64], status="pending")
            ).inserted_primary_key
        assert key is not None
        return int(key[0])

    def pending(self) -> list[ControlCommand]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(ControlCommandRow.id, ControlCommandRow.command,
                                       ControlCommandRow.symbol, ControlCommandRow.timeframe,
                                       ControlCommandRow.argument)
                                .where(ControlCommandRow.status == "pending")
                                .order_by(ControlCommandRow.id)).all()
        return [ControlCommand(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def answer(self, command_id: int, status: str, result: str, now_ms: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(ControlCommandRow).where(ControlCommandRow.id == command_id)
                         .values(status=status, result=result[:1000], handled_at=ts(now_ms)))

    def status(self, command_id: int) -> tuple[str, str | None]:
        with self.engine.connect() as conn:
            row = conn.execute(select(ControlCommandRow.status, ControlCommandRow.result)
                               .where(ControlCommandRow.id == command_id)).one()
        return str(row[0]), row[1]
