"""``tradeloop run --mode testnet`` against the loopback fake exchange: keys from the
environment, reconciliation at start, exchange metrics recorded; and the refusals of testnet
without keys and of live without the config's consent."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.fake_exchange import FakeExchange
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.cli import main as cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

KEY, SECRET = "tlcli-key-0123456789", "tlcli-secret-0123456789"
CONFIG = """
symbols: [BTC/USDT]
timeframes: {{intervals: [{{interval: 1m, weight: 1.0}}]}}
exchange: {{name: binance, base_url: '{url}', timeout_seconds: 2}}
"""


@pytest.fixture
def fx() -> Iterator[FakeExchange]:
    now = int(time.time() * 1000)
    candles, _ = synth_market(2.0, timeframe="1m", seed=2, start_ms=now - 86_400_000,
                              start_price=30_000.0)
    with FakeExchange(api_key=KEY, balances={"USDT": 2_500.0}) as fake:
        fake.add_candles("BTC/USDT", "1m", candles)
        yield fake


def test_testnet_run_from_the_command_line(tmp_path: Path, fx: FakeExchange,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG.format(url=fx.url))
    monkeypatch.delenv("EXCHANGE_API_KEY", raising=False)
    monkeypatch.delenv("EXCHANGE_API_SECRET", raising=False)
    assert cli(["--config", str(cfg), "run", "--mode", "testnet", "--duration", "0.05m"]) == 1
    assert "needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("EXCHANGE_API_KEY", KEY)
    monkeypatch.setenv("EXCHANGE_API_SECRET", SECRET)
    assert cli(["--config", str(cfg), "run", "--mode", "live", "--duration", "0.05m"]) == 1
    assert "live_trading.mode: live" in capsys.readouterr().err
    assert cli(["--config", str(cfg), "run", "--mode", "testnet", "--duration", "0.05m"]) == 0
    assert "ended (duration)" in capsys.readouterr().out
    assert {"/api/v3/account", "/api/v3/openOrders"} <= set(fx.requests)  # reconciled
    db = create_engine(f"sqlite:///{tmp_path / 'data' / 'trading.db'}")
    with db.connect() as conn:
        mode, status, notes = conn.execute(text(
            "SELECT mode, status, notes FROM deployments")).one()
        metrics = conn.execute(text("SELECT requests, limit_per_minute, circuit_state "
                                    "FROM exchange_metrics ORDER BY id DESC")).first()
    assert (mode, status) == ("testnet", "completed")  # not "rolled_back" on a small account
    assert json.loads(notes)["initial_equity"] == 2_500.0  # the account's, not the config's
    assert metrics is not None and metrics[0] > 0 and metrics[1:] == (600, "closed")


def test_a_start_that_cannot_reconcile_fails_cleanly(tmp_path: Path, fx: FakeExchange,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG.format(url=fx.url).replace("timeout_seconds: 2",
                                                     "timeout_seconds: 2, max_retries: 0"))
    monkeypatch.setenv("EXCHANGE_API_KEY", "tlcli-wrong-key-0000")  # the exchange refuses it
    monkeypatch.setenv("EXCHANGE_API_SECRET", SECRET)
    assert cli(["--config", str(cfg), "run", "--mode", "testnet", "--duration", "0.05m"]) == 1
    err = capsys.readouterr().err
    assert "Invalid API-key" in err and "tlcli-wrong-key" not in err
    db = create_engine(f"sqlite:///{tmp_path / 'data' / 'trading.db'}")
    with db.connect() as conn:
        status, notes = conn.execute(text("SELECT status, notes FROM deployments")).one()
    assert status == "failed" and "start-up failed" in json.loads(notes)["stopped_by"]


def test_a_live_candidate_trades_its_share_of_the_exchange_account(
        tmp_path: Path, fx: FakeExchange, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A testnet session takes up a pipeline whose instance is a live candidate: it trades a
    sub-ledger of the exchange account funded with its allocation from the main desk (a
    recorded transfer); the next session finds its cash on record and moves nothing."""
    from tradeloop.adapters.store.graduation_records import LIVE, GraduationRecords
    from tradeloop.adapters.store.instance_ledger import InstanceLedger
    from tradeloop.app import open_store
    from tradeloop.lifecycle.allocation import Allocation
    from tradeloop.lifecycle.catalogue import candidate
    from tradeloop.lifecycle.pipeline import Instance
    from tradeloop.lifecycle.stages import Stage
    from tradeloop.settings import load_settings

    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG.format(url=fx.url))
    monkeypatch.setenv("EXCHANGE_API_KEY", KEY)
    monkeypatch.setenv("EXCHANGE_API_SECRET", SECRET)
    handle = open_store(load_settings(cfg, env={}))
    c = candidate("ma_cross", "BTC/USDT", "1m")
    now = int(time.time() * 1000)
    GraduationRecords(handle.engine, LIVE).save(
        [Instance(c.key, c, Stage.LIVE_CANDIDATE, now - 86_400_000, now - 40 * 86_400_000)],
        [], [Allocation(c.key, Stage.LIVE_CANDIDATE, 0.04, 1.0, "test")], now, 2_500.0)
    caplog.set_level(logging.INFO)
    for _ in range(2):
        assert cli(["--config", str(cfg), "run", "--mode", "testnet", "--duration",
                    "0.05m"]) == 0
    ledger = InstanceLedger(handle.engine, "testnet")
    with handle.engine.connect() as conn:
        moves = conn.execute(text("SELECT instance, amount FROM instance_transfers")).all()
        cash = conn.execute(text("SELECT cash FROM equity_history ORDER BY id DESC")).first()
    assert moves == [(c.key, pytest.approx(100.0))]  # 4 % of $2,500, once
    assert ledger.cash(c.key) == pytest.approx(100.0)
    assert cash is not None and cash[0] == pytest.approx(2_400.0)  # the main desk's share
    funded = [r.getMessage() for r in caplog.records if "of the account" in r.getMessage()]
    assert funded == [f"strategy {c.key} trades 100.00 of the account (live_candidate)"]
    handle.close()
