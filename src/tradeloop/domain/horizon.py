"""One traded event for every timeframe: the direction of the move over a shared wall-clock
horizon after a candle's close.

A timeframe whose bars divide the horizon reads its label from its own closes ``H / tf`` bars
later (the 1h model with a 4h horizon: 4 bars). A longer timeframe (1d) reads it from the
longest configured series that divides the horizon (4h): the close of the candle that closes
``H`` after the daily close. Every model then forecasts the same event, so a weighted mix of
their calibrated probabilities is a forecast of that event, not of six different ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.timeframes import Timeframe


@dataclass(frozen=True)
class LabelPlan:
    """How the label of one timeframe's rows is measured."""

    timeframe: Timeframe
    horizon: Timeframe
    label_timeframe: Timeframe  # the series whose close ``horizon`` later is the outcome

    @property
    def own(self) -> bool:
        return self.label_timeframe == self.timeframe

    @property
    def bars(self) -> int:
        """Bars of the model's own timeframe the label reaches into (its purge gap)."""
        return max(1, -(-self.horizon.ms // self.timeframe.ms))


def label_plan(timeframe: str | Timeframe, horizon: str | Timeframe, timeframes: list[str]
               ) -> LabelPlan:
    """The plan for ``timeframe``; TradeloopError when no configured series can measure it."""
    tf, h = Timeframe.parse(timeframe), Timeframe.parse(horizon)
    if tf <= h and h.ms % tf.ms == 0:
        return LabelPlan(tf, h, tf)
    # a series that divides both the horizon and the model's timeframe: its candles close at
    # every close of the model's candles plus the horizon
    options = [t for t in (Timeframe.parse(x) for x in timeframes)
               if t <= h and h.ms % t.ms == 0 and tf.ms % t.ms == 0]
    if not options:
        raise TradeloopError(f"the {h} horizon of {tf} models cannot be measured: no "
                             f"configured timeframe divides both")
    return LabelPlan(tf, h, max(options))
