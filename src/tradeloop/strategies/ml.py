"""The ML strategy: trade the aggregated calibrated forecast while the gate says TRADING."""

from __future__ import annotations

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.domain.gate import Mode


class MlStrategy:
    """Buy in TRADING mode when the probability of an up move clears the threshold (the traded
    direction's, not the larger of up and down); close the long when the probability of a
    down move reaches the gate's exit floor (threshold - hysteresis)."""

    name = "ml"
    history = 1
    needs_models = True

    def preload(self, key: SeriesKey, candles: CandleArrays) -> None:
        """Nothing to precompute: the ML signal comes with the context."""

    def decide(self, ctx: Context) -> Decision | None:
        if ctx.p_up is None or ctx.p_down is None:
            return None
        if (not ctx.holding and ctx.mode is Mode.TRADING and ctx.p_up >= ctx.entry_floor
                and ctx.p_up > ctx.p_down):
            return Decision("buy", f"ml: P(up) {ctx.p_up:.1%}")
        if ctx.holding and ctx.p_down >= ctx.exit_floor and ctx.p_down > ctx.p_up:
            return Decision("sell", f"ml: P(down) {ctx.p_down:.1%}")
        return None
