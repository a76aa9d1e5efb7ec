"""A strategy instance's track record: its daily returns and its closed trades, and the
figures its stage criteria read from any window of it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tradeloop.domain.overfitting import moments, probabilistic_sharpe, sharpe

DAY_MS = 86_400_000


@dataclass(frozen=True)
class TradeMark:
    """A closed trade: when it was entered and left and its return on the instance's
    equity."""

    entry_ms: int
    exit_ms: int
    ret: float


@dataclass(frozen=True)
class Window:
    """A stretch of a record: whole UTC days and the trades entered and closed inside."""

    start_ms: int
    returns: np.ndarray
    trades: tuple[TradeMark, ...]

    @property
    def days(self) -> int:
        return len(self.returns)

    @property
    def sharpe(self) -> float | None:
        """Annualised (365 days); None without spread."""
        s = sharpe(self.returns)
        return s * math.sqrt(365) if math.isfinite(s) else None

    @property
    def per_day_sharpe(self) -> float | None:
        s = sharpe(self.returns)
        return s if math.isfinite(s) else None

    @property
    def total_return(self) -> float:
        return float(np.prod(1.0 + self.returns) - 1.0) if self.days else 0.0

    @property
    def max_drawdown(self) -> float:
        if not self.days:
            return 0.0
        curve = np.concatenate(([1.0], np.cumprod(1.0 + self.returns)))
        return float(np.max(1.0 - curve / np.maximum.accumulate(curve)))

    @property
    def volatility(self) -> float | None:
        """Daily standard deviation of the returns; None under two days."""
        return float(np.std(self.returns, ddof=1)) if self.days >= 2 else None

    @property
    def loss_streak(self) -> int:
        """Losing trades in a row at the window's end."""
        n = 0
        for t in reversed(self.trades):
            if t.ret >= 0:
                break
            n += 1
        return n

    def sharpe_lower(self, z: float = 1.645) -> float | None:
        """One-sided lower confidence bound of the per-day Sharpe ratio (95 % at the default
        ``z``), with the standard error of a Sharpe ratio under skew and kurtosis (Mertens);
        None under three days or without spread."""
        sr = self.per_day_sharpe
        if sr is None or self.days < 3:
            return None
        skew, kurt = moments(self.returns)
        var = (1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr) / (self.days - 1)
        return sr - z * math.sqrt(var) if var > 0 else None

    def probability(self, benchmark: float = 0.0) -> float | None:
        """P(true per-day Sharpe > ``benchmark``) of these returns (probabilistic Sharpe);
        None under three days or without spread."""
        sr = self.per_day_sharpe
        if sr is None or self.days < 3:
            return None
        skew, kurt = moments(self.returns)
        try:
            return probabilistic_sharpe(sr, self.days, skew, kurt, benchmark)
        except ValueError:
            return None


@dataclass(frozen=True)
class TrackRecord:
    """Daily returns from ``origin_ms`` (day i covers ``origin + i*DAY .. +DAY``) and the
    closed trades, in exit order."""

    origin_ms: int
    returns: np.ndarray
    trades: tuple[TradeMark, ...]

    @property
    def end_ms(self) -> int:
        return self.origin_ms + len(self.returns) * DAY_MS

    def window(self, start_ms: int, end_ms: int) -> Window:
        """The whole days inside ``[start, end)`` and the trades entered at or after
        ``start`` and closed before ``end``."""
        a = max(0, -(-(start_ms - self.origin_ms) // DAY_MS))
        b = min(len(self.returns), max(0, (end_ms - self.origin_ms) // DAY_MS))
        trades = tuple(t for t in self.trades if t.entry_ms >= start_ms and t.exit_ms < end_ms)
        return Window(self.origin_ms + a * DAY_MS, self.returns[a:max(a, b)], trades)


def from_trades(origin_ms: int, end_ms: int,
                trades: list[tuple[int, int, float, float | None]], capital: float
                ) -> TrackRecord:
    """The record of an instance from its closed trades: each day's return is the sum of
    the returns of the trades closed that day, each its P&L over the book it was made on
    (the book's equity before it: ``book`` after it less the P&L; ``capital`` where the book
    is not known) — realised, so that the record can be rebuilt from the trade rows after a
    restart, and on the instance's own scale whatever capital its stage gave it.
    ``trades``: (entry, exit, pnl, book equity after)."""
    origin = origin_ms // DAY_MS * DAY_MS
    days = max(0, (end_ms - origin) // DAY_MS)
    returns = np.zeros(days)
    marks: list[TradeMark] = []
    for entry, exit_, pnl, book in sorted(trades, key=lambda t: t[1]):
        base = book - pnl if book is not None and book - pnl > 0 else capital
        i = (exit_ - origin) // DAY_MS
        if 0 <= i < days:
            returns[i] += pnl / base
        marks.append(TradeMark(entry, exit_, pnl / base))
    return TrackRecord(origin, returns, tuple(marks))
