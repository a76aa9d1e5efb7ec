"""Drive a rule strategy through every candle of a series as the engine would, holding what
it bought (filled at the close): preloaded indicators, or the live window only."""

from __future__ import annotations

from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.decisions import Context, Decision
from tradeloop.domain.gate import Mode
from tradeloop.ports import Strategy

H = 3_600_000


def run(strategy: Strategy, c: CandleArrays, *, preload: bool = True,
        p_up: float | None = None, mode: Mode = Mode.LEARNING) -> list[tuple[int, Decision]]:
    """The (candle index, decision) pairs of a 1h series."""
    if preload:
        strategy.preload(SeriesKey("fake", "AAA/USDT", "1h"), c)
    out, entry = [], None
    for i in range(len(c)):
        window = c.take(slice(max(0, i + 1 - strategy.history), i + 1))
        d = strategy.decide(Context(
            "AAA/USDT", "1h", True, mode, False, entry is not None, p_up,
            None if p_up is None else 1 - p_up - 0.1, 0.6, 0.55, window,
            i if preload else -1, int(c.open_time[i]),
            None if entry is None else entry[0], None if entry is None else entry[1]))
        if d is not None:
            out.append((i, d))
            entry = (int(c.open_time[i]) + H, float(c.close[i])) if d.action == "buy" else None
    return out
