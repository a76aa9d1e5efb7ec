"""The engine on a planted signal: the gate opens, trades happen, losses trigger retrains,
challengers are promoted or rejected with a reason, risk rules refuse what they must, and a
replay is deterministic to the byte."""

from pathlib import Path

import pytest
from sqlalchemy import text

from tradeloop.adapters.market_data.synthetic import planted_signal
from tradeloop.app import open_store
from tradeloop.app.backtests import run_backtest
from tradeloop.domain.candles import SeriesKey
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CONFIG = """
exchange: {name: synthetic}
symbols: [SIG/USDT]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
continuous_learning:
  confidence: {trading_threshold: 0.65, hysteresis: 0.05, min_dwell_minutes: 0}
  retraining: {max_epochs: 20, patience: 3, min_interval_hours: 48, on_loss: true}
model: {horizon: 1h, fee_bps: 0, slippage_bps: 0, min_samples: 500, max_train_candles: 2000}
risk: {blocked_hours: [3, 4, 5]}
"""


def replay(folder: Path) -> tuple:  # type: ignore[type-arg]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(CONFIG)
    settings = load_settings(folder / "config.yaml", env={})
    store = open_store(settings)
    candles = planted_signal(3000, seed=5)
    store.candles.write(SeriesKey("synthetic", "SIG/USDT", "1h"), candles)
    start = int(candles.open_time[2200])
    end = int(candles.open_time[-1]) + 3_600_000
    result = run_backtest(settings, store, ["SIG/USDT"], start, end, folder=folder / "out")
    return result, store


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple:  # type: ignore[type-arg]
    return replay(tmp_path_factory.mktemp("a"))


def test_gate_trades_and_learning_on_a_planted_signal(first: tuple) -> None:  # type: ignore[type-arg]
    result, store = first
    with store.engine.connect() as conn:
        modes = conn.execute(text("SELECT mode, reason FROM learning_states ORDER BY id")).all()
        assert any(m == "TRADING" and r.startswith("P(up)") for m, r in modes)
        assert any(m == "LEARNING" and r == "retraining" for m, r in modes)
        retrains = conn.execute(text(
            "SELECT trigger_reason, promoted, notes FROM retraining_history ORDER BY id")).all()
        outcomes = conn.execute(text("SELECT COUNT(*), SUM(outcome = 'loss') FROM "
                                     "trade_outcomes")).one()
        refused = conn.execute(text("SELECT reason, created_at FROM orders "
                                    "WHERE status = 'refused'")).all()
        entries = conn.execute(text("SELECT created_at FROM orders WHERE side = 'buy' AND "
                                    "status != 'refused'")).all()
        confidence = conn.execute(text("SELECT COUNT(*) FROM confidence_history")).scalar()
    assert result.performance.trades == outcomes[0] >= 20 and outcomes[1] >= 1
    assert result.performance.total_return > 0  # the planted signal is tradable
    assert result.performance.start_equity == 10_000  # the curve starts at the start
    assert 0 < result.performance.exposure <= 1
    reasons = [r[0] for r in retrains]
    assert "initial" in reasons and "loss_immediate" in reasons
    promoted = [n for t, p, n in retrains if t == "loss_immediate" and p]
    rejected = [n for t, p, n in retrains if t == "loss_immediate" and not p]
    # decisions are paired tests on fresh candles, recorded with their figures
    decided = [n for n in promoted + rejected if "fresh candles" in n]
    assert decided and all("p = " in n and "improvement" in n for n in decided)
    assert all("-> better" in n for n in promoted)
    assert not any("-> better" in n for n in rejected)
    assert all("fresh candles" in n or "new candles since champion" in n for n in rejected)
    assert result.learning.stats()["skipped_cooldown"] >= 1
    assert refused and all("UTC is a blocked hour" in r for r, _ in refused)
    assert all(str(t)[11:13] not in ("03", "04", "05") for (t,) in entries)  # none blocked
    assert confidence == result.events


def test_replay_is_deterministic(first: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    again, _ = replay(tmp_path / "b")
    a = (first[0].folder / "trades.csv").read_bytes()
    b = (again.folder / "trades.csv").read_bytes()
    assert a == b and len(a.splitlines()) > 20
    assert (first[0].folder / "equity.csv").read_bytes() == (again.folder / "equity.csv"
                                                             ).read_bytes()
