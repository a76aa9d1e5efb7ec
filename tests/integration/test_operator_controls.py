"""Operator controls reaching a running deployment through the control channel: pause and
resume a symbol, switch the strategy, Wipe Data, emergency stop (= rollback) — requested
the way the dashboard does (Operator, from the outside of the session) while a replayed
deployment runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

import tradeloop.deploy.session as session_module
from tests.fakes import ScriptedPredictor
from tests.support.replay_db import (
    DAY_MS,
    START_MS,
    WARMUP_DAYS,
    InstantRunner,
    scripted,
    stock,
)
from tradeloop.adapters.clock import SimClock
from tradeloop.adapters.store.runtime_state import RuntimeState
from tradeloop.adapters.store.schema import (
    ConfidenceHistoryRow,
    ControlCommandRow,
    EquityHistoryRow,
    LearningStateRow,
    OrderRow,
    TradeOutcomeRow,
)
from tradeloop.app import StoreHandle, notifier_for
from tradeloop.app.feeds import replay_feed
from tradeloop.app.operator import Operator
from tradeloop.app.sessions import make_session
from tradeloop.deploy.session import SessionResult
from tradeloop.domain.timestamps import ts
from tradeloop.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

H = 3_600_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stocked(tmp_path: Path) -> tuple[Settings, StoreHandle]:
    # a loose breakout rule so the switched-to strategy trades within the test's days
    return stock(tmp_path / "project", days=3, extra_config=(
        "trading: {params: {breakout: {min_breakout_percent: 0.05, volume_ratio: 0.8, "
        "rsi_upper: 90}}}\n"))


def run_with(settings: Settings, store: StoreHandle, days: float,
             at: dict[int, Callable[[Operator], None]]) -> SessionResult:
    """Replay ``days``; at each simulated hour offset of ``at`` the operator acts."""
    start = START_MS + WARMUP_DAYS * DAY_MS
    clock = SimClock(start)
    op = Operator(settings, store.engine, now_ms=clock.now_ms)
    pending = dict(sorted(at.items()))

    def tick() -> bool:
        for hour in list(pending):
            if clock.now_ms() >= start + hour * H:
                pending.pop(hour)(op)
        return False

    session = make_session(settings, store, ["BTC/USDT", "ETH/USDT"], mode="replay", clock=clock,
                      feed=replay_feed(store, clock, settings, start,
                                       start + int(days * DAY_MS)),
                      runner=InstantRunner(), predictor=ScriptedPredictor(scripted),
                      notifier=notifier_for(settings, store.engine, clock), phase=1)
    return session.run(duration_ms=int(days * DAY_MS), stop=tick)


def answered(store: StoreHandle) -> list[tuple[str, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(ControlCommandRow.command, ControlCommandRow.status,
                                   ControlCommandRow.result).order_by(ControlCommandRow.id))
        return [(r[0], r[1], r[2] or "") for r in rows]


@pytest.fixture(autouse=True)
def poll_every_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay runs faster than the wall-clock polling interval; poll at each heartbeat."""
    monkeypatch.setattr(session_module, "IO_SECONDS", 0.0)


def test_pause_and_strategy_switch_reach_the_running_deployment(
        stocked: tuple[Settings, StoreHandle]) -> None:
    settings, store = stocked
    data = settings.model_dump()  # breakout trades under its own entry limits
    data["risk"]["strategies"] = {"breakout": {"max_open_positions": 1}}
    settings = settings.rebuilt(data)
    start = START_MS + WARMUP_DAYS * DAY_MS
    res = run_with(settings, store, 3, {
        6: lambda op: op.request("pause", symbol="BTC/USDT"),
        30: lambda op: op.request("resume", symbol="BTC/USDT"),
        40: lambda op: op.request("strategy", argument="breakout"),
    })
    assert res.status == "completed"
    assert [(c, s) for c, s, _ in answered(store)] == [
        ("pause", "done"), ("resume", "done"), ("strategy", "done")]
    with store.engine.connect() as conn:
        buys = conn.execute(select(OrderRow.symbol, OrderRow.created_at, OrderRow.reason)
                            .where(OrderRow.side == "buy", OrderRow.status != "refused")
                            .order_by(OrderRow.created_at)).all()
    paused = [b for b in buys if b[0] == "BTC/USDT"
              and ts(start + 6 * H) < b[1] <= ts(start + 30 * H)]
    assert paused == []  # no BTC entry while it was paused ...
    with store.engine.connect() as conn:
        peak = conn.execute(select(func.max(ConfidenceHistoryRow.confidence_score)).where(
            ConfidenceHistoryRow.symbol == "BTC/USDT",
            ConfidenceHistoryRow.timestamp > ts(start + 6 * H),
            ConfidenceHistoryRow.timestamp <= ts(start + 30 * H))).scalar_one()
        to_trading = conn.execute(select(LearningStateRow.timestamp).where(
            LearningStateRow.symbol == "BTC/USDT", LearningStateRow.mode == "TRADING")
        ).scalars().all()
    assert peak >= settings.continuous_learning.confidence.trading_threshold  # ... though
    # its confidence would have let it trade; back to TRADING only after the resume
    assert not [t for t in to_trading if ts(start + 6 * H) < t <= ts(start + 30 * H)]
    assert [t for t in to_trading if t > ts(start + 30 * H)]
    assert any(b[0] == "BTC/USDT" and b[1] <= ts(start + 6 * H) for b in buys)
    before = [b for b in buys if b[1] <= ts(start + 40 * H)]
    after = [b for b in buys if b[1] > ts(start + 41 * H)]
    assert before and all(b[2].startswith("signal (ml: ") for b in before)
    assert after and all(b[2].startswith("signal (breakout: ") for b in after)
    state = RuntimeState(store.engine)
    assert state.strategy("ml") == "breakout" and state.paused() == set()
    assert res.engine.strategy.name == "breakout"
    assert res.engine.risk.limits.max_open_positions == 1  # its own limits came with it
    assert settings.risk.max_open_positions > 1


def test_wipe_data_while_running_starts_the_account_afresh(
        stocked: tuple[Settings, StoreHandle]) -> None:
    settings, store = stocked
    start = START_MS + WARMUP_DAYS * DAY_MS
    res = run_with(settings, store, 3, {40: lambda op: op.request("wipe")})
    (command, status, result), = answered(store)
    assert (command, status) == ("wipe", "done") and result.startswith("wiped ")
    wiped_at = ts(start + 40 * H)
    with store.engine.connect() as conn:
        first_trade = conn.execute(select(func.min(TradeOutcomeRow.entry_time))).scalar_one()
        first_snapshot = conn.execute(select(func.min(EquityHistoryRow.timestamp))
                                      ).scalar_one()
        first_order = conn.execute(select(func.min(OrderRow.created_at))).scalar_one()
    assert first_snapshot >= wiped_at - (ts(60_000) - ts(0))
    assert first_order is None or first_order >= wiped_at - (ts(60_000) - ts(0))
    assert first_trade is None or first_trade >= wiped_at - (ts(H) - ts(0))
    # the account restarted from the initial cash: its P&L counts only after the wipe
    after = sum(t.pnl for t, _ in res.engine.trades)
    assert res.engine.broker.equity() == pytest.approx(
        settings.trading.initial_balance + after, abs=1e-6)


def test_emergency_stop_rolls_back_the_running_deployment(
        stocked: tuple[Settings, StoreHandle]) -> None:
    settings, store = stocked
    res = run_with(settings, store, 3, {20: lambda op: op.request("rollback")})
    assert res.status == "rolled_back" and res.rollback_reason == "operator rollback"
    assert not res.engine.broker.positions
    assert answered(store)[0][:2] == ("rollback", "done")
    assert res.ended_ms - res.started_ms < 21 * H


def test_unknown_symbol_is_refused_by_the_session(stocked: tuple[Settings, StoreHandle]
                                                  ) -> None:
    settings, store = stocked
    run_with(settings, store, 0.5, {2: lambda op: op.request("pause", symbol="DOGE/USDT")})
    (_, status, result), = answered(store)
    assert status == "rejected" and "DOGE/USDT is not traded by this session" in result


def test_dashboard_reads_while_the_deployment_writes(
        stocked: tuple[Settings, StoreHandle], monkeypatch: pytest.MonkeyPatch) -> None:
    """The real dashboard script rendered from the middle of a running deployment (its own
    database connections, the session writing between renders)."""
    from streamlit.testing.v1 import AppTest

    settings, store = stocked
    monkeypatch.setenv("TRADELOOP_CONFIG", str(settings.base_dir / "config.yaml"))
    seen: list[tuple[str, str, int]] = []

    def render(op: Operator) -> None:
        app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
        assert not app.exception, app.exception
        m = {x.label: x.value for x in app.metric}
        closes = sum(len(t.value) for t in app.dataframe)
        seen.append((m["Status"], app.caption[0].value, closes))

    run_with(settings, store, 1, {6: render, 18: render})
    assert [s[0] for s in seen] == ["running", "running"]
    assert all(s[1].startswith("🟢 running") for s in seen)
