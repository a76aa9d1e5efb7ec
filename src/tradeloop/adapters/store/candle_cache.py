"""Columnar read cache of stored candle series.

One ``<series_id>_v<version>.npy`` file per series; the version is bumped in the same
transaction as every write that changes the series, so a file whose name carries the current
version holds exactly the stored rows. Loading it is a memory map instead of a row-by-row SQL
read. Files are written atomically; a stale or unreadable file is ignored and rebuilt.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from tradeloop.domain.candles import CandleArrays

ROW_DTYPE = np.dtype(
    [("t", "<i8"), ("o", "<f8"), ("h", "<f8"), ("l", "<f8"), ("c", "<f8"), ("v", "<f8")]
)


class CandleCache:
    """Versioned ``.npy`` files under ``root``, one per series."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, series_id: int, version: int) -> Path:
        return self.root / f"{series_id}_v{version}.npy"

    def get(self, series_id: int, version: int) -> np.ndarray | None:
        """The cached rows of a series at ``version``, memory-mapped; None when absent."""
        path = self._path(series_id, version)
        if not path.exists():
            return None
        try:
            rows = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return None
        return rows if rows.dtype == ROW_DTYPE else None

    def put_rows(self, series_id: int, version: int, rows: np.ndarray) -> None:
        """Store a series (rows in the cache layout) at ``version`` atomically and drop its
        older files."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self._path(series_id, version)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, rows, allow_pickle=False)
        os.replace(tmp, final)
        for old in self.root.glob(f"{series_id}_v*.npy"):
            if old != final:
                with contextlib.suppress(OSError):
                    old.unlink()

def slice_rows(rows: np.ndarray, start_ms: int | None, end_ms: int | None) -> CandleArrays:
    """Rows with ``start_ms <= t < end_ms`` as contiguous arrays."""
    t = rows["t"]
    i = 0 if start_ms is None else int(np.searchsorted(t, start_ms, side="left"))
    j = len(t) if end_ms is None else int(np.searchsorted(t, end_ms, side="left"))
    part = rows[i:j]
    return CandleArrays(*(np.ascontiguousarray(part[name]) for name in ROW_DTYPE.names or ()))
