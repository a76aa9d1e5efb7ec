"""The one conversion between epoch milliseconds and the store's naive-UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime


def ts(ms: int) -> datetime:
    """Epoch milliseconds as a naive UTC datetime (how the store keeps times)."""
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def ms_of(dt: datetime) -> int:
    """The inverse of ``ts``: a stored (naive UTC) timestamp in ms."""
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000)
