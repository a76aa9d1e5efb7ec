"""Risk rules applied to every entry order. A refusal is a value with a reason, never an
exception: the loop goes on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_drawdown: float  # fraction
    daily_loss_limit: float
    max_position_fraction: float
    risk_per_trade: float
    max_open_positions: int
    stop_loss: float  # fraction below entry
    take_profit: float  # fraction above entry
    max_consecutive_losses: int
    loss_pause_ms: int
    blacklist: frozenset[str]
    blocked_hours: frozenset[int]
    max_daily_trades: int = 0  # entries approved per UTC day; 0 = no limit


@dataclass(frozen=True, slots=True)
class EntryDecision:
    approved: bool
    reason: str
    quantity: float = 0.0
    stop_loss: float | None = None
    take_profit: float | None = None


class DrawdownLimit(Protocol):
    """Limits with a max-drawdown halt (an instance's, the account's)."""

    @property
    def max_drawdown(self) -> float: ...


class EquityWatch:
    """The peak, the day's start and the max-drawdown halt of one equity series (an
    instance's book, the account): what both risk managers track."""

    HALT = "max drawdown"  # how its halt reads
    limits: DrawdownLimit

    def _watch_from(self, equity: float) -> None:
        self.peak_equity = equity
        self.worst_drawdown = 0.0  # of the per-candle equity, what the halt watches
        self.day_start_equity = equity
        self.day = -1
        self.halted_reason: str | None = None

    def rebase(self, equity: float, delta: float) -> None:
        """Cash moved into (> 0) or out of (< 0) the book it watches, whose equity was
        ``equity``: its peak and the day's start scale with the book, so a transfer changes
        neither the drawdown nor the day's loss (an empty book starts afresh)."""
        if equity <= 0:
            self.peak_equity = self.day_start_equity = max(0.0, delta)
            return
        f = max(0.0, (equity + delta) / equity)
        self.peak_equity *= f
        self.day_start_equity *= f

    def day_loss(self, equity: float) -> float:
        return 1.0 - equity / self.day_start_equity if self.day_start_equity > 0 else 0.0

    def on_equity(self, now_ms: int, equity: float) -> str | None:
        """Update peak/day state; returns the halt reason when max drawdown is breached now."""
        day = now_ms // DAY_MS
        if day != self.day:
            self.day, self.day_start_equity = day, equity
        self.peak_equity = max(self.peak_equity, equity)
        drawdown = 1.0 - equity / self.peak_equity if self.peak_equity > 0 else 0.0
        self.worst_drawdown = max(self.worst_drawdown, drawdown)
        limit = self.limits.max_drawdown
        if self.halted_reason is None and drawdown >= limit:
            self.halted_reason = (f"{self.HALT} {drawdown:.2%} >= {limit:.2%} limit: "
                                  f"trading halted")
            return self.halted_reason
        return None


class RiskManager(EquityWatch):
    """Sizes entries and refuses the ones the limits forbid; tracks the state they need."""

    limits: RiskLimits

    def __init__(self, limits: RiskLimits, initial_equity: float) -> None:
        self.limits = limits
        self.reset(initial_equity)

    def reset(self, initial_equity: float) -> None:
        """A fresh start (Wipe Data): new peak, no halt, no loss streak."""
        self._watch_from(initial_equity)
        self.consecutive_losses = 0
        self.last_loss_ms: int | None = None
        self.entries_day, self.entries_today = -1, 0

    def cancel_entry(self) -> None:
        """An approved entry that was not placed (refused account-wide): it does not count
        toward the day's entries."""
        self.entries_today = max(0, self.entries_today - 1)

    def on_trade_closed(self, won: bool, now_ms: int) -> None:
        if won:
            self.consecutive_losses = 0
        else:
            self.consecutive_losses += 1
            self.last_loss_ms = now_ms

    def check_entry(self, symbol: str, price: float, now_ms: int, equity: float, cash: float,
                    open_symbols: set[str], fee_rate: float) -> EntryDecision:
        lim = self.limits
        if self.halted_reason:
            return EntryDecision(False, self.halted_reason)
        if symbol in lim.blacklist:
            return EntryDecision(False, f"{symbol} is blacklisted")
        hour = (now_ms % DAY_MS) // HOUR_MS
        if hour in lim.blocked_hours:
            return EntryDecision(False, f"{hour:02d}:00 UTC is a blocked hour")
        if symbol in open_symbols:
            return EntryDecision(False, f"already holding {symbol} (one position per symbol)")
        if len(open_symbols) >= lim.max_open_positions:
            return EntryDecision(False, f"{len(open_symbols)} positions open "
                                        f"(max {lim.max_open_positions})")
        day_loss = self.day_loss(equity)
        if day_loss >= lim.daily_loss_limit:
            return EntryDecision(False, f"daily loss {day_loss:.2%} >= "
                                        f"{lim.daily_loss_limit:.2%} limit: no new entries today")
        if (self.consecutive_losses >= lim.max_consecutive_losses and self.last_loss_ms is not None
                and now_ms - self.last_loss_ms < lim.loss_pause_ms):
            minutes = (lim.loss_pause_ms - (now_ms - self.last_loss_ms)) / 60_000
            return EntryDecision(False, f"{self.consecutive_losses} consecutive losses: "
                                        f"paused for {minutes:.0f} more minutes")
        day = now_ms // DAY_MS
        if day != self.entries_day:
            self.entries_day, self.entries_today = day, 0
        if lim.max_daily_trades and self.entries_today >= lim.max_daily_trades:
            return EntryDecision(False, f"{self.entries_today} entries today (max "
                                        f"{lim.max_daily_trades}): no new entries today")
        by_risk = equity * lim.risk_per_trade / (price * lim.stop_loss)
        by_size = equity * lim.max_position_fraction / price
        by_cash = cash / (price * (1.0 + fee_rate))
        quantity = min(by_risk, by_size, by_cash)
        if quantity * price < 1e-9 * max(equity, 1.0) or quantity <= 0:
            return EntryDecision(False, f"no cash for a position (cash {cash:.2f})")
        self.entries_today += 1
        return EntryDecision(True, "approved", quantity, price * (1.0 - lim.stop_loss),
                             price * (1.0 + lim.take_profit))


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """Account-wide limits over every strategy instance trading the account's capital."""

    max_drawdown: float  # fraction of the account's peak equity: halts every instance
    daily_loss_limit: float  # fraction of the day's starting equity: no new entries today
    max_symbol_exposure: float  # fraction of account equity held in one symbol, all instances


class AccountRisk(EquityWatch):
    """The account's rules across strategy instances: the drawdown halt and the daily loss
    limit on the summed equity, and the cap on what all instances together hold of a
    symbol. Per-instance rules (one position per symbol, sizing, loss streaks) stay with
    each instance's :class:`RiskManager`."""

    def __init__(self, limits: AccountLimits, initial_equity: float) -> None:
        self.limits = limits
        self.reset(initial_equity)

    HALT = "account max drawdown"
    limits: AccountLimits

    def reset(self, initial_equity: float) -> None:
        self._watch_from(initial_equity)

    def take_over(self, risk: RiskManager, extra_equity: float = 0.0) -> None:
        """Start tracking from ``risk``'s history (the main desk's, while it held the account
        alone), plus ``extra_equity`` of the other desks."""
        self.peak_equity = risk.peak_equity + extra_equity
        self.day_start_equity = risk.day_start_equity + extra_equity
        self.day = risk.day

    def check_entry(self, symbol: str, notional: float, held: float, equity: float
                    ) -> str | None:
        """Why a new position of ``notional`` in ``symbol`` (``held`` already held there by
        all instances) is refused account-wide, or None."""
        lim = self.limits
        if self.halted_reason:
            return self.halted_reason
        day_loss = self.day_loss(equity)
        if day_loss >= lim.daily_loss_limit:
            return (f"account daily loss {day_loss:.2%} >= {lim.daily_loss_limit:.2%} limit: "
                    f"no new entries today")
        cap = lim.max_symbol_exposure * equity
        if held + notional > cap * (1 + 1e-9):
            return (f"{symbol} exposure across instances would be {held + notional:.2f} "
                    f"> {lim.max_symbol_exposure:.0%} of account equity ({cap:.2f})")
        return None
