"""The one runner on in-memory fakes: events to the engine, heartbeats to its housekeeping,
hooks that stop a run, the drawdown halt that stops every run, the market closed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tests.fakes import (
    FakeBroker,
    FakeClock,
    ListMarketData,
    MemoryStore,
    RecordingLearning,
    ScriptedPredictor,
)
from tradeloop.domain.candles import Candle, CandleArrays, SeriesKey
from tradeloop.domain.gate import Gate
from tradeloop.domain.risk import RiskLimits, RiskManager
from tradeloop.domain.signals import Aggregator
from tradeloop.engine.candle_book import CandleBook
from tradeloop.engine.engine import Engine, EngineConfig
from tradeloop.engine.runner import END_OF_DATA, HALT, Progress, Runner, warmup_bars
from tradeloop.ports import CandleClose

H = 3_600_000
T0 = 1_700_000_000_000 // H * H
KEY = SeriesKey("fake", "AAA/USDT", "1h")
UP = (0.05, 0.05, 0.9)


class BeatingMarket(ListMarketData):
    """A heartbeat (None) after every candle, the clock moved to each close."""

    def __init__(self, events: list[tuple[SeriesKey, Candle]], clock: FakeClock) -> None:
        history = CandleArrays(*(np.array([v]) for v in (T0 - H, 100.0, 100.0, 100.0, 100.0,
                                                         1.0)))
        super().__init__({KEY: history}, events)
        self.clock = clock

    def closes(self) -> Iterator[CandleClose | None]:
        for event in super().closes():
            assert event is not None
            self.clock.now = event.close_ms
            yield event
            yield None


class StopAfter:
    def __init__(self, closes: int) -> None:
        self.closes, self.seen, self.beats = closes, 0, 0

    def on_close(self, now_ms: int) -> str | None:
        self.seen += 1
        return "enough" if self.seen >= self.closes else None

    def on_heartbeat(self, now_ms: int) -> str | None:
        self.beats += 1
        return None


def engine(prices: list[float], risk: RiskLimits | None = None
           ) -> tuple[Engine, BeatingMarket, FakeClock, RecordingLearning]:
    clock = FakeClock(T0)
    market = BeatingMarket([(KEY, Candle(T0 + i * H, p, p, p, p, 1.0))
                            for i, p in enumerate(prices)], clock)
    broker, learning = FakeBroker(), RecordingLearning()
    limits = risk or RiskLimits(0.5, 0.5, 1.0, 1.0, 3, 0.5, 1.0, 3, H, frozenset(), frozenset())
    e = Engine(EngineConfig(["AAA/USDT"], ["1h"], {"1h": 1.0}, "fake", 0.7, 0.1, 1),
               CandleBook(), ScriptedPredictor(lambda s, t, c: UP), broker,
               RiskManager(limits, broker.cash), Gate(0.7, 0.1, 0), Aggregator({"1h": 1.0}),
               MemoryStore(), learning)
    return e, market, clock, learning


def test_events_heartbeats_and_the_end() -> None:
    e, market, clock, learning = engine([100.0] * 5)
    progress: list[tuple[int, int]] = []
    out = Runner(e, market, clock, [Progress(5, lambda d, t: progress.append((d, t)), 2)]).run()
    assert (out.stopped_by, out.events) == (END_OF_DATA, 5)
    assert e.stats.events == 5 and learning.polls == 5  # each heartbeat polled the learning
    assert progress == [(2, 5), (4, 5)] and market.closed
    assert e.predictor is not None and KEY in e.predictor.preloaded  # type: ignore[attr-defined]


def test_a_hook_stops_the_run() -> None:
    e, market, clock, _ = engine([100.0] * 10)
    hook = StopAfter(3)
    out = Runner(e, market, clock, [hook]).run()
    assert (out.stopped_by, out.events, hook.beats) == ("enough", 3, 2) and market.closed


def test_a_drawdown_halt_stops_every_run() -> None:
    e, market, clock, _ = engine([100.0, 100.0, 100.0, 40.0, 40.0, 40.0])
    out = Runner(e, market, clock).run()
    assert out.stopped_by == HALT and out.events == 4
    assert e.risk.halted_reason is not None


def test_one_warmup_rule() -> None:
    assert warmup_bars(81) == 200 + 64  # a feature-drift check: its window and lookback
    assert warmup_bars(3000, 10) == 3000 and warmup_bars(81, 2000) == 2000
