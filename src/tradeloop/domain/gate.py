"""The confidence gate: each symbol is in TRADING or LEARNING mode, with hysteresis."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

RETRAINING = "retraining"  # a hold of the models' own: a strategy that needs none trades on


class Mode(StrEnum):
    TRADING = "TRADING"
    LEARNING = "LEARNING"


@dataclass(frozen=True, slots=True)
class Transition:
    symbol: str
    time_ms: int
    previous: Mode
    mode: Mode
    reason: str
    confidence: float | None


@dataclass(slots=True)
class _State:
    mode: Mode = Mode.LEARNING
    since_ms: int = 0
    holds: set[str] = field(default_factory=set)


class Gate:
    """LEARNING -> TRADING when confidence (the calibrated probability of the traded
    direction) >= threshold (after the minimum dwell);
    TRADING -> LEARNING when it falls below threshold - hysteresis, or at once while a hold
    is in place (a retrain running, a health rule, an error, stale data, an operator pause).
    """

    def __init__(self, threshold: float, hysteresis: float, min_dwell_ms: int) -> None:
        if not 0 <= hysteresis < threshold <= 1:
            raise ValueError("need 0 <= hysteresis < threshold <= 1")
        self.threshold = threshold
        self.hysteresis = hysteresis
        self.min_dwell_ms = min_dwell_ms
        self._states: dict[str, _State] = {}

    def mode(self, symbol: str) -> Mode:
        return self._state(symbol).mode

    def _state(self, symbol: str) -> _State:
        st = self._states.get(symbol)
        if st is None:
            st = self._states[symbol] = _State()
        return st

    def _move(self, symbol: str, st: _State, mode: Mode, now_ms: int, reason: str,
              confidence: float | None) -> Transition:
        t = Transition(symbol, now_ms, st.mode, mode, reason, confidence)
        st.mode, st.since_ms = mode, now_ms
        return t

    def hold(self, symbol: str, reason: str, now_ms: int) -> Transition | None:
        """Force LEARNING until :meth:`release` of the same reason."""
        st = self._state(symbol)
        st.holds.add(reason)
        if st.mode is Mode.TRADING:
            return self._move(symbol, st, Mode.LEARNING, now_ms, reason, None)
        return None

    def release(self, symbol: str, reason: str) -> None:
        self._state(symbol).holds.discard(reason)

    def holds(self, symbol: str) -> frozenset[str]:
        """Why the symbol is held in LEARNING (empty when it is free to trade)."""
        return frozenset(self._state(symbol).holds)

    def held(self, symbol: str, *, models: bool = True) -> bool:
        """Whether anything holds the symbol in LEARNING (asked on every candle); with
        ``models=False`` (a strategy that needs no model) a retraining does not."""
        holds = self._state(symbol).holds
        return bool(holds if models else holds - {RETRAINING})

    def since_ms(self, symbol: str) -> int:
        return self._state(symbol).since_ms

    def reset(self, now_ms: int, drop_holds: frozenset[str] = frozenset()) -> None:
        """Every symbol back to LEARNING from ``now_ms`` (Wipe Data), keeping its holds
        except ``drop_holds``."""
        for st in self._states.values():
            st.mode, st.since_ms = Mode.LEARNING, now_ms
            st.holds -= drop_holds

    def observe(self, symbol: str, confidence: float, now_ms: int) -> Transition | None:
        """Feed the latest aggregated confidence; returns a transition when the mode changes."""
        st = self._state(symbol)
        dwelt = now_ms - st.since_ms >= self.min_dwell_ms
        if st.mode is Mode.LEARNING:
            if not st.holds and dwelt and confidence >= self.threshold:
                return self._move(symbol, st, Mode.TRADING, now_ms,
                                  f"P(up) {confidence:.2%} >= {self.threshold:.2%}",
                                  confidence)
            return None
        floor = self.threshold - self.hysteresis
        if confidence < floor and dwelt:
            return self._move(symbol, st, Mode.LEARNING, now_ms,
                              f"P(up) {confidence:.2%} < {floor:.2%}", confidence)
        return None
