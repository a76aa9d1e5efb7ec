"""A market's rules as the exchange broker applies them: minimum amount and notional, and
what a fill really cost (fees in the quote, base or a third asset)."""

from __future__ import annotations

from typing import Any


def check_limits(market: dict[str, Any], quantity: float, price: float) -> str:
    """Why an order of ``quantity`` at ``price`` breaks the market's minimums ('' if not)."""
    limits = market.get("limits") or {}
    min_amount = (limits.get("amount") or {}).get("min") or 0.0
    min_cost = (limits.get("cost") or {}).get("min") or 0.0
    if quantity <= 0 or quantity < min_amount:
        return f"amount {quantity:.8g} under the market minimum {min_amount:.8g}"
    if quantity * price < min_cost:
        return f"notional {quantity * price:.2f} under the market minimum {min_cost:.2f}"
    return ""


def net_of_fees(fees: list[dict[str, Any]], side: str, base: str, quote: str, filled: float,
                average: float, fee_rate: float) -> tuple[float, float]:
    """(quantity received, fee in the quote currency) of a fill. A fee in the base asset
    reduces what a buy receives; one in a third asset (e.g. BNB) is valued at ``fee_rate``;
    with no fee reported the fee rate is assumed."""
    quote_fee, base_fee = 0.0, 0.0
    for f in fees:
        cost = float(f.get("cost") or 0.0)
        if f.get("currency") == quote:
            quote_fee += cost
        elif f.get("currency") == base:
            base_fee += cost
        else:
            quote_fee += filled * average * fee_rate
    if not fees:
        quote_fee = filled * average * fee_rate
    received = filled - base_fee if side == "buy" else filled
    return received, quote_fee + base_fee * average
