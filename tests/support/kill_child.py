"""One run of a testnet session against the fake exchange, for the kill test and the
redaction test: ``python -m tests.support.kill_child <root> <t0_ms> <wall0> <speed> <secs>``.

Time runs ``speed`` times faster than the wall (a 1m candle closes every 60/speed seconds);
the fake exchange uses the same clock. A scripted predictor swings between confident up and
down every few candles, so the engine buys and sells often."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.fakes import ScriptedPredictor
from tests.support.replay_db import InstantRunner
from tradeloop.adapters.notify.log_notifier import LogNotifier
from tradeloop.app import open_store
from tradeloop.app.exchange import live_parts
from tradeloop.app.sessions import make_session
from tradeloop.cli.common import setup_logging
from tradeloop.settings import load_settings


class ScaledClock:
    """Wall time sped up ``speed`` times from ``t0_ms`` at wall second ``wall0``."""

    def __init__(self, t0_ms: int, wall0: float, speed: float) -> None:
        self.t0, self.wall0, self.speed = t0_ms, wall0, speed

    def now_ms(self) -> int:
        return self.t0 + int((time.time() - self.wall0) * 1000 * self.speed)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self.speed)


def swing(symbol: str, timeframe: str, t: int) -> tuple[float, float, float]:
    """Up for two candles, down for two: confident either way."""
    return (0.1, 0.1, 0.8) if (t // 60_000) % 4 < 2 else (0.8, 0.1, 0.1)


def main(argv: list[str]) -> int:
    root, t0, wall0, speed, seconds = Path(argv[0]), int(argv[1]), float(argv[2]), \
        float(argv[3]), float(argv[4])
    settings = load_settings(root / "config.yaml")
    setup_logging(settings, "engine.log")  # as `tradeloop run` does (redacting formatter)
    clock = ScaledClock(t0, wall0, speed)
    store = open_store(settings)
    try:
        parts = live_parts(settings, store, clock, "testnet")
        session = make_session(settings, store, ["BTC/USDT"], mode="testnet", clock=clock,
                          feed=parts.feed, broker=parts.broker, gateway=parts.gateway,
                          runner=InstantRunner(), predictor=ScriptedPredictor(swing),
                          notifier=LogNotifier(store.engine, clock))
        res = session.run(int(seconds * 1000 * speed))
    finally:
        store.close()
    print(f"orders={res.engine.stats.orders} trades={len(res.engine.trades)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
