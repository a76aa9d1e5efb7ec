"""Orders, fills, positions and closed trades (spot, long-only: a sell closes a long)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from tradeloop.domain.symbols import base36

CLIENT_ID_PREFIX = "tl-"  # client order ids of tradeloop's orders start with this
MAIN_INSTANCE = "main"  # the strategy instance of a session's own strategy


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A market order decided by the engine; the client id exists before it is sent."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    created_ms: int
    reason: str
    stop_loss: float | None = None
    take_profit: float | None = None
    confidence: float = 0.0


@dataclass(frozen=True, slots=True)
class Fill:
    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    fee: float
    time_ms: int


@dataclass(slots=True)
class Position:
    """An open long position."""

    symbol: str
    quantity: float
    entry_price: float
    entry_time_ms: int
    entry_fee: float
    stop_loss: float | None
    take_profit: float | None
    confidence: float
    client_order_id: str


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A round trip: entry and exit of one position, with its result after fees."""

    symbol: str
    quantity: float
    entry_price: float
    exit_price: float
    entry_time_ms: int
    exit_time_ms: int
    fees: float
    pnl: float
    pnl_percent: float
    exit_reason: str
    confidence: float

    @property
    def won(self) -> bool:
        return self.pnl > 0


def close_position(pos: Position, quantity: float, exit_price: float, exit_time_ms: int,
                   exit_fee: float, reason: str) -> ClosedTrade:
    """The round trip of ``quantity`` of ``pos`` sold at ``exit_price``: fees of both legs,
    P&L after fees, and the return on what the entry cost."""
    fees = pos.entry_fee + exit_fee
    pnl = quantity * (exit_price - pos.entry_price) - fees
    cost = quantity * pos.entry_price + pos.entry_fee
    return ClosedTrade(pos.symbol, quantity, pos.entry_price, exit_price, pos.entry_time_ms,
                       exit_time_ms, fees, pnl, pnl / cost if cost else 0.0, reason,
                       pos.confidence)


class BrokerEvents(NamedTuple):
    """What a broker reports after moving the book: fills, and closed trades with the money
    each risked at entry (for R multiples)."""

    fills: list[Fill]
    closed: list[tuple[ClosedTrade, float]]


def client_order_id(run_id: str, now_ms: int, seq: int, kind: str = "") -> str:
    """``tl-<run>-<time>-<kind><n>``: unique across runs (``run_id`` names the deployment),
    at most 36 characters (Binance's limit) and recognisable as ours on the exchange. A run id
    longer than 16 characters is replaced by a short hash of it."""
    short = hashlib.sha1(run_id.encode(), usedforsecurity=False).hexdigest()[:12]
    tag = run_id if len(run_id) <= 16 else short
    return f"{CLIENT_ID_PREFIX}{tag}-{base36(now_ms)}-{kind}{base36(seq)}"
