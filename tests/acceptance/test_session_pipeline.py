"""The graduation pipeline inside a session (seed 000): an empty pipeline (or Wipe Data)
starts it; after the start delay the catalogue is backtested on the stored history before
that moment, the passing candidates trade on paper beside the session's own strategy (their
orders and trades carry their instance id), the reviews move them on, a restarted session
takes them up again, and Wipe Data starts it all afresh."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

import tradeloop.deploy.session as session_module
from tests.acceptance.test_dashboard import ROOT
from tests.acceptance.test_graduation import BAR, DAY, T0, market, table_with
from tests.support.replay_db import InstantRunner
from tradeloop.adapters.clock import SimClock
from tradeloop.adapters.store.blacklist_records import Blacklist
from tradeloop.adapters.store.dashboard_queries import activity
from tradeloop.adapters.store.graduation_records import LIVE, GraduationRecords
from tradeloop.adapters.store.instance_queries import instance_performance
from tradeloop.adapters.store.schema import OrderRow, TradeOutcomeRow
from tradeloop.app import StoreHandle, notifier_for, open_store
from tradeloop.app.feeds import replay_feed
from tradeloop.app.operator import Operator
from tradeloop.app.sessions import make_session
from tradeloop.cli import main as cli
from tradeloop.deploy.session import SessionResult
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.timestamps import ts
from tradeloop.settings import Settings, load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
START = T0 + 130 * DAY
CONFIG = """
exchange: {name: binance}
symbols: [XX/USDT, ZZ/USDT]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
trading: {strategy: breakout, fee_bps: 5, slippage_bps: 0}
risk: {max_consecutive_losses: 1000, max_drawdown_percent: 50, stop_loss_percent: 3,
       take_profit_percent: 50}
graduation:
  timeframes: [1h]
  strategies: [ma_cross, mean_reversion, range_trading, seller_exhaustion]
  start_delay_seconds: 60
  backtest: {lookback_days: 120, min_trades: 15}
  paper: {min_days: 30, max_days: 90, min_trades: 6}
"""


@pytest.fixture(autouse=True)
def poll_every_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "IO_SECONDS", 0.0)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, StoreHandle]:
    root = tmp_path_factory.mktemp("session-pipeline")
    (root / "config.yaml").write_text(CONFIG)
    settings = load_settings(root / "config.yaml", env={})
    store = open_store(settings)
    for symbol, candles in {"XX/USDT": market(3, 0.002), "ZZ/USDT": market(5, 0.0)}.items():
        store.candles.write(SeriesKey("binance", symbol, "1h"), candles)
    return settings, store


def session(settings: Settings, store: StoreHandle, start: int, days: float,
            wipe_at_hour: float | None = None) -> SessionResult:
    clock = SimClock(start)
    op = Operator(settings, store.engine, now_ms=clock.now_ms)
    pending = [wipe_at_hour] if wipe_at_hour is not None else []

    def tick() -> bool:
        if pending and clock.now_ms() >= start + pending[0] * BAR:
            pending.clear()
            op.request("wipe")
        return False

    end = start + int(days * DAY)
    s = make_session(settings, store, ["XX/USDT", "ZZ/USDT"], mode="replay", clock=clock,
                     feed=replay_feed(store, clock, settings, start, end,
                                      heartbeat_ms=3_600_000),
                     runner=InstantRunner(), notifier=notifier_for(settings, store.engine, clock),
                     pipeline=True)
    return s.run(duration_ms=end - start, stop=tick)


def stages(store: StoreHandle) -> dict[str, str]:
    return {s.instance: s.stage for s in GraduationRecords(store.engine, LIVE).status()}


def test_the_session_runs_the_pipeline_restarts_with_it_and_wipe_data_starts_it_again(
        project: tuple[Settings, StoreHandle], capsys: pytest.CaptureFixture[str]) -> None:
    settings, store = project
    first = session(settings, store, START, 45)
    assert first.status == "completed"
    st = stages(store)
    assert len(st) == 8  # 4 strategies x 2 symbols, each a row
    planted = next(k for k in st if k.startswith("ma_cross:XXUSDT"))
    # the trend follower on the planted trends went to paper at the start, then on after
    # its 30 days; nothing on the random walk reached paper
    path = [(t["from"], t["to"]) for t in GraduationRecords(store.engine, LIVE).transitions()
            if t["instance"] == planted]
    assert path[:3] == [("candidate", "backtested"), ("backtested", "paper"),
                        ("paper", "live_candidate")], path
    entered = {t["instance"] for t in GraduationRecords(store.engine, LIVE).transitions()
               if t["to"] == "paper"}
    assert not {k for k in entered if "ZZUSDT" in k}
    # it traded on paper beside the session's own strategy, its rows tagged with its id
    with store.engine.connect() as conn:
        by_instance = dict(conn.execute(select(TradeOutcomeRow.instance, func.count())
                                        .group_by(TradeOutcomeRow.instance)).all())
        modes = set(conn.execute(select(OrderRow.mode).where(OrderRow.instance == planted))
                    .scalars())
    # on paper first (its own simulated book), then, as a live candidate, on a book of the
    # account's: the band's 1-5 % moved from the session's own strategy
    assert by_instance[planted] >= 6 and modes == {"paper", "replay"}
    funded = first.engine.desk(planted)
    assert funded is not None and funded.account
    last = [a for a in GraduationRecords(store.engine, LIVE).allocations()
            if a["instance"] == planted][-1]
    assert last["stage"] == "live_candidate" and 0.01 <= last["fraction"] <= 0.05
    assert 0 < funded.broker.equity() < 0.1 * first.engine.account_equity()
    perf = {p.instance: p for p in instance_performance(store.engine, 10_000.0)}
    assert perf[planted].pnl > 0 and perf[planted].sharpe is not None
    # the session's own strategy keeps its own rows (what the deployment is validated on)
    assert by_instance.get("main", 0) == len(first.engine.trades)
    # the Activity feed names another instance's orders
    feed = activity(store.engine, None, ts(START), ts(START + 45 * DAY), limit=100_000)
    signals = feed[feed["kind"] == "signal"]["event"]
    assert any(f"— {planted}: " in e for e in signals)
    assert any(f"— {planted}" not in e for e in signals)  # the session's own: unnamed
    # the operator's view: stages, the backtests' progress, each instance's figures
    capsys.readouterr()
    assert cli(["--config", str(settings.base_dir / "config.yaml"), "strategy",
                "status"]) == 0
    out = capsys.readouterr().out
    # the last backtests: the 7 rejected, re-tested on newer data after retest_days (30)
    assert "graduation pipeline live" in out and "backtests: 7/7" in out
    assert "closed trades" in out and planted in out
    dashboard(settings, store, planted)

    # a restarted session takes the pipeline up: the planted instance trades again at once
    restart = START + 45 * DAY + BAR
    second = session(settings, store, restart, 3, wipe_at_hour=48)
    assert second.status == "completed"
    with store.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(TradeOutcomeRow)
                             .where(TradeOutcomeRow.instance == planted)).scalar_one()
    # Wipe Data at hour 48 cleared the trades and the pipeline; a minute later the
    # catalogue was backtested again on the history before then: the planted edge is
    # back in paper, judged afresh
    st = stages(store)
    assert st[planted] == "paper"
    assert count < by_instance[planted]
    moves = GraduationRecords(store.engine, LIVE).transitions()
    assert {m["time"] for m in moves} and min(
        m["time"].timestamp() * 1000 for m in moves) >= restart + 48 * BAR
    assert any(c[1] == "wipe" for c in second.commands)


def dashboard(settings: Settings, store: StoreHandle, planted: str) -> None:
    """The Pipeline view: the live instances' figures from their trades; the blacklist with
    an operator's entry, lifted with its button."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADELOOP_CONFIG", str(settings.base_dir / "config.yaml"))
    try:
        Operator(settings, store.engine, by="tester").blacklist("ZZ/USDT", 24, "test entry")
        app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
        app.sidebar.radio(key="view").set_value("Pipeline")
        app.run()
        assert not app.exception, app.exception
        table = table_with(app, "time in stage")
        row = table[table["instance"] == planted].iloc[0]
        assert row["closed trades"] >= 6 and row["P&L"] > 0 and row["stage"] == "live_candidate"
        listed = table_with(app, "until")
        assert list(listed["symbol"]) == ["ZZ/USDT"]
        assert "test entry (by tester)" in listed["reason"].iloc[0]
        next(b for b in app.button if b.label == "Lift ZZ/USDT").click().run()
        assert not app.exception, app.exception
        assert any("ZZ/USDT may be traded again" in m.value for m in app.success)
        assert Blacklist(store.engine).active(2**42) == {}
    finally:
        mp.undo()
