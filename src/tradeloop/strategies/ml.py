"""The ML strategy: trade the aggregated calibrated forecast while the gate says TRADING."""

from __future__ import annotations

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.domain.gate import Mode


class MlStrategy:
    """Buy on an up forecast in TRADING mode; close the long on a down forecast whose
    confidence is at least the gate's exit floor (threshold - hysteresis)."""

    name = "ml"
    history = 1
    needs_models = True

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        """Nothing to precompute: the ML signal comes with the context."""

    def decide(self, ctx: Context) -> Decision | None:
        if ctx.direction is None or ctx.confidence is None:
            return None
        if not ctx.holding and ctx.mode is Mode.TRADING and ctx.direction == "up":
            return Decision("buy", f"ml: up {ctx.confidence:.1%}")
        if ctx.holding and ctx.direction == "down" and ctx.confidence >= ctx.exit_floor:
            return Decision("sell", f"ml: down {ctx.confidence:.1%}")
        return None
