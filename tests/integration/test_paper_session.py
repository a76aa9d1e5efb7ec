"""A paper session: the real ccxt client polling a loopback fake Binance, the engine serving
the champion, a manual retrain running in a worker process while the loop goes on, stale
data detected, and the operator's commands answered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.fakes import FakeClock
from tests.support.fake_exchange import FakeExchange
from tradeloop.adapters.exchange.ccxt_client import make_exchange
from tradeloop.adapters.exchange.gateway import ExchangeGateway
from tradeloop.adapters.instance_lock import InstanceLock
from tradeloop.adapters.market_data.ccxt_source import CcxtCandleSource
from tradeloop.adapters.market_data.synthetic import planted_signal
from tradeloop.adapters.notify.log_notifier import LogNotifier
from tradeloop.adapters.registry.local_registry import LocalRegistry
from tradeloop.adapters.store.control_store import ControlChannel
from tradeloop.app import open_store
from tradeloop.app.feeds import live_feed
from tradeloop.app.retrain_jobs import retrain_runner
from tradeloop.app.sessions import make_session
from tradeloop.cli import main as cli
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import AlreadyRunningError, EngineError
from tradeloop.ml.training_job import train_series
from tradeloop.settings import Settings, load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

H = 3_600_000
KEY = SeriesKey("binance", "BTC/USDT", "1h")
CANDLES = planted_signal(1700, seed=3)
STORED, NOW_AT, FREEZE_AT = 1500, 1560, 1600  # indexes: stored, start, exchange stops

CONFIG = """
symbols: [BTC/USDT]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
exchange: {name: binance, base_url: 'URL', timeout_seconds: 2}
continuous_learning:
  confidence: {trading_threshold: 0.6, hysteresis: 0.05, min_dwell_minutes: 0}
  retraining: {max_epochs: 4, patience: 2, on_loss: false}
model: {horizon: 1h, fee_bps: 0, slippage_bps: 0, min_samples: 300, max_train_candles: 1200}
"""


class LinkedClock(FakeClock):
    """Simulated time shared with the fake exchange (which serves candles closed by then,
    until it 'freezes'); each sleep also yields a little real time to the worker."""

    def __init__(self, now_ms: int, fx: FakeExchange, freeze_ms: int) -> None:
        super().__init__(now_ms)
        self.fx, self.freeze_ms = fx, freeze_ms
        self._sync()

    def _sync(self) -> None:
        self.fx.now_ms = min(self.now, self.freeze_ms) - H  # open times of closed candles

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self._sync()
        time.sleep(0.002)


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        fake.add_candles("BTC/USDT", "1h", CANDLES)
        yield fake


def make_settings(tmp_path: Path, fx: FakeExchange) -> Settings:
    (tmp_path / "config.yaml").write_text(CONFIG.replace("URL", fx.url))
    return load_settings(tmp_path / "config.yaml", env={})


def test_paper_session_end_to_end(tmp_path: Path, fx: FakeExchange) -> None:
    settings = make_settings(tmp_path, fx)
    store = open_store(settings)
    store.candles.write(KEY, CANDLES.take(slice(0, STORED)))
    models = settings.path(settings.paths.models_dir)
    train_series(settings, store.candles, LocalRegistry(models), "BTC/USDT", "1h")
    t_open = int(CANDLES.open_time[NOW_AT])
    clock = LinkedClock(t_open, fx, int(CANDLES.open_time[FREEZE_AT]))
    source = CcxtCandleSource(ExchangeGateway(make_exchange(settings.exchange), clock,
                                              max_retries=3))
    runner = retrain_runner(settings, models, wait=False)
    fx.faults.extend(["500", "shuffle", "duplicate"])
    session = make_session(settings, store, ["BTC/USDT"], mode="paper", clock=clock,
                      feed=live_feed(source, store, clock, settings, heartbeat_seconds=600,
                                     retry_seconds=600),
                      runner=runner, notifier=LogNotifier(store.engine, clock))
    channel = ControlChannel(store.engine)
    retrain_id = channel.request("retrain", clock.now_ms(), symbol="BTC/USDT")
    bad_id = channel.request("retrain", clock.now_ms(), symbol="DOGE/USDT")
    started = time.monotonic()

    def stop() -> bool:  # until the retrain is back (real time) and the data went stale
        if time.monotonic() - started > 240:
            raise AssertionError("the retrain did not finish within 4 minutes")
        return bool(session_results()) and clock.now > int(CANDLES.open_time[FREEZE_AT]) + 6 * H

    def session_results() -> list[object]:
        with store.engine.connect() as conn:
            return list(conn.execute(text("SELECT id FROM retraining_history WHERE "
                                          "trigger_reason = 'manual'")).all())

    lock = InstanceLock(settings.path(settings.paths.data_dir) / "engine.lock")
    res = session.run(stop=stop)
    assert lock.held_elsewhere() is None  # released

    # catch-up of the 60 missed candles, then one event per new candle, none twice
    stored = store.candles.load(KEY)
    assert len(stored) == FREEZE_AT and (stored.open_time == CANDLES.open_time[:FREEZE_AT]).all()
    assert res.engine.stats.events == FREEZE_AT - NOW_AT
    with store.engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
        times = [r[0] for r in q("SELECT candle_time FROM predictions ORDER BY id")]
        assert len(times) == len(set(times)) == FREEZE_AT - NOW_AT
        assert q("SELECT DISTINCT mode FROM orders WHERE status != 'refused'") in ([], [("paper",)])
        (trigger, _promoted, triggered, finished, notes), = q(
            "SELECT trigger_reason, promoted, triggered_at, finished_at, notes FROM "
            "retraining_history")
        assert trigger == "manual" and finished >= triggered and notes
        cmds = dict(q("SELECT id, status FROM control_commands"))
        assert cmds == {retrain_id: "done", bad_id: "rejected"}
        alerts = q("SELECT severity, message, deployment_id FROM alerts")
        assert any(m.startswith("Stale market data") for _, m, _ in alerts)
        assert {d for _, _, d in alerts} == {res.deployment_id}
        assert q("SELECT COUNT(*) FROM health_checks")[0][0] >= 5 * res.health_runs > 0
        n_conf = q("SELECT COUNT(*), MIN(threshold) FROM confidence_history")[0]
        assert n_conf == (FREEZE_AT - NOW_AT, 0.6)
        dep = q("SELECT mode, status, ended_at IS NOT NULL FROM deployments")
        assert dep == [("paper", "stopped", True)]
    assert res.stopped_by == "signal" and not res.engine.broker.positions
    store.close()


def test_modes_and_single_instance(tmp_path: Path, fx: FakeExchange) -> None:
    settings = make_settings(tmp_path, fx)
    store = open_store(settings)
    clock = FakeClock(0)
    source = CcxtCandleSource(ExchangeGateway(make_exchange(settings.exchange), clock))
    runner = retrain_runner(settings, None, wait=False)
    try:
        with pytest.raises(EngineError, match="needs the exchange broker"):
            make_session(settings, store, ["BTC/USDT"], mode="live", clock=clock,
                    feed=live_feed(source, store, clock, settings), runner=runner)
        lock = InstanceLock(settings.path(settings.paths.data_dir) / "engine.lock")
        lock.acquire(mode="paper")
        try:
            session = make_session(settings, store, ["BTC/USDT"], mode="paper", clock=clock,
                              feed=live_feed(source, store, clock, settings), runner=runner)
            with pytest.raises(AlreadyRunningError, match="already running"):
                session.run(duration_ms=0)
        finally:
            lock.release()
    finally:
        runner.close()
        store.close()


def test_operator_commands_without_a_running_engine(tmp_path: Path, fx: FakeExchange,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path, fx)
    cfg = str(tmp_path / "config.yaml")
    assert cli(["--config", cfg, "stop"]) == 1
    assert "no engine is running" in capsys.readouterr().out
    store = open_store(settings)
    store.candles.write(KEY, CANDLES.take(slice(0, STORED)))
    store.close()
    assert cli(["--config", cfg, "retrain", "--symbol", "BTC/USDT"]) == 0
    out = capsys.readouterr().out
    assert "retraining BTC/USDT 1h here (trigger manual)" in out and "promoted" in out
    assert cli(["--config", cfg, "retrain", "--symbol", "BTC/USDT", "--interval", "4h"]) == 1
