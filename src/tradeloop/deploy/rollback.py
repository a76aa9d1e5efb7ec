"""Rollback (seed 002's ``--rollback``): stop the running deployment through the control
channel and wait until it has closed its positions; optionally point the champions back to
the versions in service when the latest live deployment started."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Protocol

from tradeloop.deploy.validation import RULE, RolloutRecords, Say
from tradeloop.settings import Settings


class EngineLock(Protocol):
    def held_elsewhere(self) -> dict[str, object] | None: ...


class Channel(Protocol):
    def request(self, command: str, now_ms: int, *, symbol: str | None = None,
                timeframe: str | None = None, argument: str | None = None,
                requested_by: str = "cli") -> int: ...

    def status(self, command_id: int) -> tuple[str, str | None]: ...


class Abandoned(Protocol):
    def mark_abandoned(self) -> list[int]: ...


class ChampionAliases(Protocol):
    """The production registry's aliases and model files."""

    def champion_version(self, symbol: str, timeframe: str) -> str | None: ...

    def set_champion(self, symbol: str, timeframe: str, version: str, local_file: Path
                     ) -> None: ...

    def model_file(self, symbol: str, timeframe: str, version: str) -> Path: ...


def rollback(lock: EngineLock, channel: Channel, deployments: Abandoned, say: Say, *,
             wait_seconds: float = 120.0) -> int:
    """Stop the running deployment (control channel) and wait until it has closed its
    positions and released the lock; 1 when it did not stop in time."""
    say(RULE)
    say("INITIATING ROLLBACK")
    say(RULE)
    holder = lock.held_elsewhere()
    if holder is None:
        say("No deployment is running.")
        for i in deployments.mark_abandoned():
            say(f"Deployment {i} was left running by a process that is gone: marked failed")
        return 0
    say(f"Stopping continuous learning system (pid {holder.get('pid')}, "
        f"{holder.get('mode')}: {holder.get('symbols')})...")
    cid = channel.request("rollback", int(time.time() * 1000), requested_by="deploy")
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline and lock.held_elsewhere() is not None:
        time.sleep(0.5)
    if lock.held_elsewhere() is not None:
        status, _ = channel.status(cid)
        say(f"✗ the deployment did not stop within {wait_seconds:.0f}s (command {cid} "
            f"{status}); it polls the channel every few seconds — check it is alive")
        return 1
    say("Closing all open positions...")
    say("Disconnecting data provider...")
    say("✓ Rollback complete. System stopped.")
    return 0


def revert_models(settings: Settings, records: RolloutRecords, registry: ChampionAliases,
                  say: Say) -> int:
    """Point each champion alias back to its version at the start of the latest live
    deployment (replayed phases never change the production champions)."""
    row = records.latest_live()
    if row is None or not row.notes:
        say("No live deployment on record: model aliases unchanged.")
        return 0
    notes = json.loads(row.notes)
    # the session records each champion in service at its start (older rows: version only)
    at_start = notes.get("models_at_start", {})
    before: dict[str, str] = ({k: v["version"] for k, v in at_start.items()}
                              or notes.get("champions_at_start", {}))
    changed = 0
    for key, version in before.items():
        symbol, tf = key.rsplit(" ", 1)
        current = registry.champion_version(symbol, tf)
        if current == version:
            continue
        file = registry.model_file(symbol, tf, version)
        if not file.exists():
            say(f"✗ {symbol} {tf}: model file {file} is gone; alias left at v{current}")
            continue
        registry.set_champion(symbol, tf, version, file)
        changed += 1
        say(f"✓ {symbol} {tf}: champion v{current} -> v{version}")
    say(f"Model aliases: {changed} reverted to the champions of deployment {row.id}")
    return 0
