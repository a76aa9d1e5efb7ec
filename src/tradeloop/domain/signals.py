"""Per-symbol aggregation of the latest prediction of each timeframe (weighted vote)."""

from __future__ import annotations

from dataclasses import dataclass

CLASS_NAMES = ("down", "flat", "up")


@dataclass(frozen=True)
class Prediction:
    """A calibrated class forecast for the newest closed candle of one series."""

    symbol: str
    timeframe: str
    candle_time: int
    direction: str
    probabilities: tuple[float, float, float]  # down, flat, up
    confidence: float
    model_version: str


@dataclass(frozen=True, slots=True)
class TimeframeSignal:
    """One timeframe's calibrated forecast made at the close of candle ``candle_time``."""

    timeframe: str
    timeframe_ms: int
    candle_time: int
    probabilities: tuple[float, float, float]
    model_version: str

    def expires_ms(self, stale_after_bars: float, horizon_ms: int | None = None) -> int:
        """Valid until ``stale_after_bars`` of its timeframe after its candle closed, and
        never past the end of the event it forecasts (``horizon_ms`` after that close)."""
        closed = self.candle_time + self.timeframe_ms
        until = closed + int(stale_after_bars * self.timeframe_ms)
        return until if horizon_ms is None else min(until, closed + horizon_ms)


@dataclass(frozen=True, slots=True)
class AggregatedSignal:
    symbol: str
    direction: str
    confidence: float
    probabilities: tuple[float, float, float]
    timeframes: int  # how many valid predictions took part


class Aggregator:
    """Weighted average of the calibrated class probabilities of the valid predictions.

    A mixture of calibrated forecasts stays a probability; stale predictions (older than
    ``stale_after_bars`` of their own timeframe, or whose forecast event — the move
    ``horizon_ms`` after their close — is over) drop out and the weights renormalise.
    """

    def __init__(self, weights: dict[str, float], stale_after_bars: float = 1.0,
                 horizon_ms: int | None = None) -> None:
        self.weights = weights
        self.stale_after_bars = stale_after_bars
        self.horizon_ms = horizon_ms
        self._latest: dict[str, dict[str, TimeframeSignal]] = {}

    def update(self, symbol: str, signal: TimeframeSignal) -> None:
        self._latest.setdefault(symbol, {})[signal.timeframe] = signal

    def clear(self) -> None:
        self._latest.clear()

    def aggregate(self, symbol: str, now_ms: int) -> AggregatedSignal | None:
        total = 0.0
        acc = [0.0, 0.0, 0.0]
        n = 0
        for tf, sig in self._latest.get(symbol, {}).items():
            if now_ms > sig.expires_ms(self.stale_after_bars, self.horizon_ms):
                continue
            w = self.weights.get(tf, 0.0)
            if w <= 0:
                continue
            total += w
            n += 1
            for k in range(3):
                acc[k] += w * sig.probabilities[k]
        if n == 0:
            return None
        probs = (acc[0] / total, acc[1] / total, acc[2] / total)
        best = max(range(3), key=lambda k: probs[k])
        return AggregatedSignal(symbol, CLASS_NAMES[best], probs[best], probs, n)
