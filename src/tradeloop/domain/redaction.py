"""Secret redaction: every secret value registered here is replaced by ``***`` in any text
that passes through :func:`redact` (log lines, error messages, database rows, reports)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secrets(values: Iterable[str]) -> None:
    """Remember secret values to redact from now on (called when settings are loaded)."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= MIN_LENGTH)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***`` (longest first)."""
    if not _secrets:
        return text
    for value in sorted(_secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text
