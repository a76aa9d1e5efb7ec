"""Operator commands as the running engine receives them (control channel)."""

from __future__ import annotations

from dataclasses import dataclass

COMMANDS = ("retrain", "stop", "rollback", "pause", "resume", "strategy", "wipe")


@dataclass(frozen=True)
class ControlCommand:
    id: int
    command: str
    symbol: str | None
    timeframe: str | None
    argument: str | None = None
