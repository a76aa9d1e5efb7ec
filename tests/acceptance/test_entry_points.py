"""The top-level entry points: deploy_production.py checks and the monitor."""

import runpy
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fake_exchange import FakeExchange
from tradeloop.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]


def load_entry(name: str) -> Callable[[list[str]], int]:
    return runpy.run_path(str(ROOT / name), run_name="entry")["main"]


@pytest.fixture
def stocked(project: Path) -> Path:
    """A project whose store holds 30 days of BTC/USDT candles on every timeframe."""
    cfg = project / "config.yaml"
    assert cli(["--config", str(cfg), "data", "synth", "--symbol", "BTC/USDT", "--days", "30"]
               ) == 0
    text = cfg.read_text().replace("exchange: {", "exchange: {name: synthetic, ")
    cfg.write_text(text)
    return project


def test_pre_deployment_checks_report_each_failure(stocked: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    deploy = load_entry("deploy_production.py")
    cfg = str(stocked / "config.yaml")
    (stocked / "config.yaml").write_text((stocked / "config.yaml").read_text()
                                         .replace("name: synthetic", "name: binance"))
    with FakeExchange() as fx:
        text = (stocked / "config.yaml").read_text().replace("exchange: {",
                                                              f"exchange: {{base_url: '{fx.url}', ")
        (stocked / "config.yaml").write_text(text)
        assert deploy(["--config", cfg, "--phase", "1", "--symbol", "BTC/USDT"]) == 1
    out = capsys.readouterr().out
    assert "✓ Database integrity: OK" in out
    assert ("✗ Champion models missing for BTC/USDT 1m, 5m, 15m, 1h, 4h, 1d (0/6 timeframes "
            "trained; run `tradeloop train --symbol BTC/USDT`)") in out
    assert "✗ Historical data: 0 candles" in out  # the synthetic candles are another exchange
    assert "✓ Configuration valid" in out
    assert "✓ Data provider initialized (binance)" in out
    assert "Pre-deployment checks: 3/5 passed" in out
    assert "✗ Deployment refused: fix the failed checks (or pass --force)." in out


def test_pre_deployment_checks_replay_mode(stocked: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    cfg = stocked / "config.yaml"
    cfg.write_text(cfg.read_text() + "live_trading: {mode: replay}\n")
    deploy = load_entry("deploy_production.py")
    assert deploy(["--config", str(cfg), "--check"]) == 1
    out = capsys.readouterr().out
    assert "Mode: replay (stored history 2024-01-30 00:00:00 .. 2024-01-31 00:00:00 UTC" in out
    assert "✗ Not enough BTC/USDT history before the replay window to train its models: " \
           "1h (696/1,068), 4h (174/1,065), 1d (29/1,065)" in out  # walk-forward needs history
    assert "✗ Historical data" in out and "fewer than 500 for BTC/USDT 4h (180), 1d (30)" in out
    assert "✓ Data provider initialized (replay of stored candles)" in out


def test_bad_config_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "config.yaml").write_text("risk: {max_drawdown_percent: -1}\n")
    deploy = load_entry("deploy_production.py")
    assert deploy(["--config", str(project / "config.yaml")]) == 1
    assert "risk.max_drawdown_percent: Input should be greater than 0" in capsys.readouterr().err


def test_monitor_shows_store_and_errors(stocked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monitor = load_entry("monitor_production.py")
    assert monitor(["--config", str(stocked / "config.yaml"), "--symbol", "BTC/USDT"]) == 0
    out = capsys.readouterr().out
    assert "PRODUCTION MONITOR" in out and "(no deployment yet)" in out
    assert "No deployment on record" in out and "📈 BTC/USDT" in out
