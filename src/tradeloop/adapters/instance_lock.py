"""A single-instance lock: one running engine per data folder (``data/engine.lock``).

An OS file lock, so it is released when the process dies, even by SIGKILL: a crash never
leaves a stale lock behind. The holder's pid and mode are written into the file.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO

from tradeloop.domain.errors import AlreadyRunningError


class InstanceLock:
    """Held by the running engine; queried by operators' commands."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self, **info: object) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise AlreadyRunningError(
                f"an engine is already running on this data folder ({holder}); stop it first "
                f"(`tradeloop stop` or `python deploy_production.py --rollback`) or use another "
                f"data_dir") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), **info}, default=str))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def held_elsewhere(self) -> dict[str, object] | None:
        """The holder's info when another process holds the lock, else None."""
        if not self.path.exists():
            return None
        with open(self.path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                try:
                    info = json.loads(fh.read() or "{}")
                except ValueError:
                    info = {}
                return info if isinstance(info, dict) else {}
            fcntl.flock(fh, fcntl.LOCK_UN)
        return None
