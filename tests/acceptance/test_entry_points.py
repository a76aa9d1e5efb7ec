"""The top-level entry points: deploy_production.py checks, monitor, dashboard."""

import runpy
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.fake_exchange import FakeExchange
from tradeloop.adapters.registry.champion_files import ChampionFiles
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
    assert "Phase 1 deployment is not available in this version" in out


def test_pre_deployment_checks_replay_mode(stocked: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    cfg = stocked / "config.yaml"
    cfg.write_text(cfg.read_text() + "live_trading: {mode: replay}\n")
    files = ChampionFiles(stocked / "models")
    for tf in ("1m", "5m", "15m", "1h", "4h", "1d"):
        folder = files.folder("BTC/USDT", tf)
        folder.mkdir(parents=True)
        (folder / "v1.pt").write_bytes(b"x")
        files.set("BTC/USDT", tf, "1", "v1.pt", None)
    deploy = load_entry("deploy_production.py")
    assert deploy(["--config", str(cfg), "--check"]) == 1
    out = capsys.readouterr().out
    assert "✓ All models exist (6 timeframes)" in out
    assert "✗ Historical data" in out and "fewer than 500 for BTC/USDT 4h (180), 1d (30)" in out
    assert "✓ Data provider initialized (replay from the store)" in out


def test_bad_config_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "config.yaml").write_text("risk: {max_drawdown_percent: -1}\n")
    deploy = load_entry("deploy_production.py")
    assert deploy(["--config", str(project / "config.yaml")]) == 1
    assert "risk.max_drawdown_percent: Input should be greater than 0" in capsys.readouterr().err


def test_monitor_shows_store_and_errors(stocked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monitor = load_entry("monitor_production.py")
    assert monitor(["--config", str(stocked / "config.yaml"), "--symbol", "BTC/USDT"]) == 0
    out = capsys.readouterr().out
    assert "PRODUCTION MONITOR" in out and "integrity ok" in out
    assert "│ 1h        │ 2024-01-30 23:00" in out and "No errors logged" in out


def test_dashboard_renders_coverage_and_chart(stocked: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.setenv("TRADELOOP_CONFIG", str(stocked / "config.yaml"))
    monkeypatch.syspath_prepend(str(ROOT))
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not app.exception
    assert app.title[0].value == "tradeloop"
    assert len(app.dataframe) == 1
    assert app.selectbox[0].options[0] == "synthetic BTC/USDT 1m"
    app.selectbox[0].select("synthetic BTC/USDT 1h").run()
    assert not app.exception
    assert "Last 500 candles of synthetic BTC/USDT 1h" in [s.value for s in app.subheader]


def test_dashboard_empty_state(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_CONFIG", str(project / "config.yaml"))
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not app.exception
    assert "No candles stored yet" in app.info[0].value

