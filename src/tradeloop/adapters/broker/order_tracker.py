"""The exchange broker's order tracking: how entries are sent and the state of an order not
final yet (used by CcxtBroker and by its start-up reconciliation)."""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.domain.trading import OrderRequest


@dataclass
class ExecutionConfig:
    order_type: str = "limit"  # entries: "limit" (marketable, slippage-capped) or "market"
    slippage_tolerance: float = 0.005
    order_timeout_ms: int = 30_000
    unknown_grace_ms: int = 15_000


@dataclass
class PendingOrder:
    order: OrderRequest
    order_type: str
    price: float | None
    reference: float
    sent_ms: int
    status: str  # submitted | sent | open
    exchange_id: str | None = None
