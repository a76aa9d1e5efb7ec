"""The strategy file (seed 001's config.json 2.1.0): export with a real backtest's metrics,
validate, import, and a backtest of the imported file that trades exactly as the strategy
it came from; one clear error for every kind of bad file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.app import open_store, risk_limits, strategy_for
from tradeloop.app.backtests import run_backtest
from tradeloop.app.operator import Operator
from tradeloop.app.strategy_files import settings_for_file
from tradeloop.cli import main as cli
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import ConfigError
from tradeloop.settings import load_settings
from tradeloop.strategies.imported import choices, load_strategy_file
from tradeloop.strategies.strategy_file import parse

pytestmark = [pytest.mark.timeout(120)]
PARAMS = {"ema_fast": 8, "ema_slow": 48, "z_window": 96, "atr_window": 14, "vol_z": 1.0,
          "tr_z": 0.5, "cloc_min": 0.5, "fib_swing_lookback": 48, "fib_swing_lookahead": 3,
          "use_stop_loss": True, "use_time_exit": True, "max_hold": 24}
CONFIG = """
exchange: {name: binance}
symbols: [ADA/USDT]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
trading: {fee_bps: 7, slippage_bps: 3}
risk: {max_consecutive_losses: 1000, max_daily_trades: 5}
"""
FROM, TO = "2024-02-01", "2024-05-01"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("strategy_file")
    (root / "config.yaml").write_text(CONFIG)
    (root / "params.json").write_text(json.dumps(PARAMS))
    store = open_store(load_settings(root / "config.yaml", env={}))
    candles, _ = synth_market(120, timeframe="1h", seed=11, start_ms=1_704_067_200_000)
    store.candles.write(SeriesKey("binance", "ADA/USDT", "1h"), candles)
    store.close()
    cfg = str(root / "config.yaml")
    assert cli(["--config", cfg, "strategy", "export", "seller_exhaustion", "--params",
                str(root / "params.json"), "--symbol", "ADA/USDT", "--timeframe", "1h",
                "--to", str(root / "se.json"), "--backtest-from", FROM,
                "--backtest-to", TO]) == 0
    return root


def doc(project: Path) -> dict[str, Any]:
    return json.loads((project / "se.json").read_text())


def test_the_export_has_the_seeds_sections_placeholders_and_measured_metrics(
        project: Path) -> None:
    d = doc(project)
    assert list(d) == ["version", "created_at", "description", "strategy_name", "timeframe",
                       "seller_params", "backtest_params", "risk_management", "exchange",
                       "data_feed", "backtest_metrics"]
    assert d["version"] == "2.1.0" and d["strategy_name"] == "Seller Exhaustion"
    assert d["seller_params"]["ema_fast"] == 8 and "max_hold" not in d["seller_params"]
    assert d["backtest_params"]["max_hold"] == 24 and d["backtest_params"]["fee_bp"] == 7
    assert d["risk_management"]["max_daily_trades"] == 5
    assert d["exchange"]["api_key"] == "YOUR_API_KEY_HERE"
    assert d["data_feed"]["polygon_api_key"] == "YOUR_POLYGON_KEY_HERE"
    m = d["backtest_metrics"]
    assert m["total_trades"] >= 5 and m["backtest_from"] == "2024-02-01T00:00:00Z"
    assert {"win_rate", "avg_R", "total_pnl", "max_drawdown", "sharpe"} <= set(m)


def test_export_import_backtest_trades_exactly_as_the_strategy(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(project / "config.yaml")
    capsys.readouterr()
    assert cli(["--config", cfg, "strategy", "import", str(project / "se.json")]) == 0
    out = capsys.readouterr().out
    assert "✅ Configuration valid" in out and "imported as" in out
    imported = project / "strategies" / "se.json"
    assert cli(["--config", cfg, "strategy", "list"]) == 0
    assert str(imported) in capsys.readouterr().out

    base = load_settings(project / "config.yaml", env={})
    direct = base.model_copy(update={"trading": base.trading.model_copy(update={
        "strategy": "seller_exhaustion",
        "params": {**base.trading.params, "seller_exhaustion": {
            **base.trading.params["seller_exhaustion"], **PARAMS}}})})
    start, end = 1_706_745_600_000, 1_714_521_600_000  # FROM, TO
    store = open_store(base)
    try:
        a = run_backtest(direct, store, ["ADA/USDT"], start, end, files=False)
        b = run_backtest(settings_for_file(base, imported), store, ["ADA/USDT"], start, end,
                         files=False)
    finally:
        store.close()
    trades_a = [t for t, _ in a.engine.trades]
    assert trades_a and trades_a == [t for t, _ in b.engine.trades]
    assert len(trades_a) == doc(project)["backtest_metrics"]["total_trades"]


def test_an_imported_file_is_a_strategy_choice_with_its_own_risk_limits(project: Path) -> None:
    """``file:NAME`` chooses an imported file (config, dashboard, operator): its strategy,
    parameters and risk limits trade the configured symbols; the library's strategies keep
    theirs; a switch to it at run time brings its limits along."""
    d = doc(project)
    d["risk_management"].update(max_daily_trades=1, max_open_positions=1)
    folder = project / "strategies"
    folder.mkdir(exist_ok=True)
    (folder / "tight.json").write_text(json.dumps(d))
    s = load_settings(project / "config.yaml", env={},
                      overrides={"trading": {"strategy": "file:tight.json"}})
    assert "file:tight.json" in choices(s) and "seller_exhaustion" in choices(s)
    own, library = risk_limits(s), risk_limits(s, "seller_exhaustion")
    assert (own.max_daily_trades, own.max_open_positions) == (1, 1)
    assert (library.max_daily_trades, library.max_open_positions) == (5, 4)
    assert strategy_for(s, "file:tight.json").p == strategy_for(  # type: ignore[attr-defined]
        settings_for_file(s, folder / "tight.json"), "seller_exhaustion").p
    start, end = 1_706_745_600_000, 1_714_521_600_000  # FROM, TO
    store = open_store(s)
    try:
        tight = run_backtest(s, store, ["ADA/USDT"], start, end, files=False, record=False)
        loose = run_backtest(settings_for_file(s, project / "se.json"), store, ["ADA/USDT"],
                             start, end, files=False, record=False)
        days = [t.entry_time_ms // 86_400_000 for t, _ in tight.engine.trades]
        assert days and len(days) == len(set(days))  # one entry a day at most
        loose_days = [t.entry_time_ms // 86_400_000 for t, _ in loose.engine.trades]
        assert len(loose_days) > len(set(loose_days))  # the file's limit made the difference
        op = Operator(s, store.engine, by="test")
        assert op.request("strategy", argument="file:tight.json").status == "done"
        with pytest.raises(ConfigError, match=r"'file:nope.json': strategy file .* not exist"):
            op.request("strategy", argument="file:nope.json")
        d["exchange"]["trading_pair"] = "XRP/USDT"
        (folder / "other.json").write_text(json.dumps(d))
        with pytest.raises(ConfigError, match="trades XRP/USDT, which is not among the symbols"):
            op.request("strategy", argument="file:other.json")
    finally:
        store.close()
        (folder / "other.json").unlink(missing_ok=True)


def test_validate_prints_the_verdict_and_each_warning(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = doc(project)
    d["exchange"].update(testnet=False, paper_trading=False)
    path = project / "live.json"
    path.write_text(json.dumps(d))
    assert cli(["strategy", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "✅ Configuration valid: Seller Exhaustion (v1.0.0) on ADA/USDT 1h" in out
    assert "⚠️ 3 warnings (review)" in out and "both false" in out
    assert "too few for the metrics" in out and "no deflated Sharpe" in out


def _broken(project: Path, change: Any) -> str:
    d = copy.deepcopy(doc(project))
    change(d)
    with pytest.raises(ConfigError) as err:
        parse(d, "f.json")
    return str(err.value)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(strategy_name="Momo"), "f.json: strategy_name: unknown strategy 'Momo'"),
    (lambda d: d.update(extra=1), "f.json: unknown key 'extra'"),
    (lambda d: d.pop("data_feed"), "f.json: missing key 'data_feed'"),
    (lambda d: d["seller_params"].update(vol_z="high"),
     "f.json: seller_params + backtest_params.vol_z: expected a number (float), got 'high'"),
    (lambda d: d["seller_params"].update(cloc_min=1.5),
     "f.json: seller_params + backtest_params.cloc_min: 1.5 is out of range [0, 1]"),
    (lambda d: d["seller_params"].pop("z_window"),
     "f.json: seller_params + backtest_params: missing parameter 'z_window'"),
    (lambda d: d["seller_params"].update(max_hold=5),
     "f.json: seller_params.max_hold belongs in backtest_params"),
    (lambda d: d["risk_management"].update(max_daily_trades=-1),
     "f.json: risk_management.max_daily_trades: -1 is out of range [0, 100000]"),
    (lambda d: d["exchange"].update(testnet="yes"),
     "f.json: exchange.testnet: expected true or false, got 'yes'"),
    (lambda d: d["backtest_metrics"].pop("sharpe"), "backtest_metrics: missing key 'sharpe'"),
    (lambda d: d.update(timeframe="7q"), "f.json: timeframe:"),
    (lambda d: d.update(version="1.0.0"), "re-export it with this version of tradeloop"),
    (lambda d: d.update(version="3.0.0"), "it is newer than this tradeloop: upgrade"),
])
def test_every_kind_of_bad_file_gets_its_own_error(project: Path, change: Any,
                                                   message: str) -> None:
    assert message in _broken(project, change)


def test_a_real_looking_credential_is_refused_and_never_echoed(project: Path) -> None:
    secret = "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI"
    message = _broken(project, lambda d: d["exchange"].update(api_secret=secret))
    assert "exchange.api_secret holds a real-looking credential: refused" in message
    assert secret not in message
    several = _broken(project, lambda d: (d["seller_params"].update(vol_z="x"),
                                          d["risk_management"].update(max_open_positions=0)))
    assert len(several.splitlines()) == 2  # every problem, one line each


def test_unreadable_files_say_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "2.1.0",\n  "x": }')
    with pytest.raises(ConfigError, match=r"bad.json: line 2, column 8: invalid JSON"):
        load_strategy_file(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_strategy_file(tmp_path / "missing.json")
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object, got list"):
        load_strategy_file(bad)
