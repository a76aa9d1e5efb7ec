from pathlib import Path

import pytest

from tradeloop.domain.errors import ConfigError, SecretInConfigError
from tradeloop.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text)
    return p


def test_shipped_config_is_valid_and_matches_defaults(tmp_path: Path) -> None:
    s = load_settings(ROOT / "config.yaml", env={})
    d = load_settings(write(tmp_path, "{}"), env={})
    assert s.model_dump(exclude={"base_dir"}) == d.model_dump(exclude={"base_dir"})
    assert s.timeframes.names == ["1m", "5m", "15m", "1h", "4h", "1d"]
    assert (s.continuous_learning.confidence.trading_threshold,
            s.continuous_learning.confidence.hysteresis) == (0.55, 0.03)
    assert s.database_url == f"sqlite:///{ROOT / 'data' / 'trading.db'}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("risk:\n  max_drawdown_pct: 10\n",
         "risk.max_drawdown_pct: unknown key; expected one of: max_drawdown_percent"),
        ("risk:\n  daily_loss_limit: lots\n",
         "risk.daily_loss_limit: Input should be a valid number"),
        ("continuous_learning:\n  confidence:\n    trading_threshold: 1.5\n",
         "continuous_learning.confidence.trading_threshold: Input should be less than or equal "
         "to 1 (got 1.5)"),
        ("continuous_learning:\n  confidence:\n    trading_threshold: 0.6\n    hysteresis: 0.6\n",
         "hysteresis (0.6) must be smaller than trading_threshold (0.6)"),
        ("timeframes:\n  intervals:\n    - {interval: 1h, weight: 0}\n",
         "timeframes.intervals[0].weight: Input should be greater than 0 (got 0)"),
        ("timeframes:\n  intervals:\n    - {interval: 7m, weight: 1}\n",
         "timeframes.intervals[0].interval: unknown timeframe '7m'; expected one of 1m"),
        ("symbols: [BTCUSDT]\n", "symbols: unknown symbol 'BTCUSDT'"),
        ("live_trading:\n  mode: yolo\n", "live_trading.mode: Input should be 'replay', 'paper'"),
        ("risk: [1, 2\n", "line 2, column 1: YAML syntax error"),
        ("risk: {max_open_positions: 2}\nsymbols: [BTC/USDT]\nrisk: {max_daily_trades: 3}\n",
         "line 3, column 1: YAML syntax error: duplicate key 'risk'"),
        ("- just\n- a list\n", "expected a mapping of sections at the top level"),
        ("bogus: 1\n", "bogus: unknown key; expected one of: live_trading, continuous_learning"),
        ("risk: {strategies: {turtle: {max_open_positions: 1}}}\n",
         "risk.strategies.turtle: unknown strategy 'turtle'"),
        ("risk: {strategies: {ma_cross: {max_open_positions: 0}}}\n",
         "risk.strategies.ma_cross.max_open_positions: Input should be greater than or equal "
         "to 1"),
        ("trading: {strategy: 'file:nope.json'}\n",
         "trading.strategy: strategy 'file:nope.json': strategy file"),
        ("trading: {strategy: 'file:../x.json'}\n",
         "expected file:<name> of a file in strategies/"),
        ("graduation: {live: {capital: {min_percent: 30, max_percent: 25}}}\n",
         "graduation.live.capital: min_percent 30.0 is above max_percent 25.0"),
        ("graduation: {paper: {min_days: 100}}\n",
         "graduation.paper: min_days 100.0 is above max_days 90.0"),
        ("graduation: {strategies: [nope]}\n", "graduation.strategies: unknown "
         "strategy 'nope'"),
        ("graduation: {timeframes: [7m]}\n", "graduation.timeframes[0]: unknown timeframe"),
    ],
)
def test_bad_config_names_path_value_and_expectation(tmp_path: Path, text: str, expected: str
                                                     ) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text), env={})
    assert expected in str(err.value)
    assert "Traceback" not in str(err.value)


@pytest.mark.parametrize(
    "text",
    ["exchange:\n  api_key: abc123\n", "exchange:\n  secret: s3cr3t\n",
     "database:\n  url: postgresql://bob:hunter2@db/trading\n"],
)
def test_secrets_in_config_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(SecretInConfigError, match="secrets must not be stored in config files"):
        load_settings(write(tmp_path, text), env={})


def test_secrets_come_from_env_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    (tmp_path / ".env").write_text("EXCHANGE_API_KEY=from-dotenv\nEXCHANGE_API_SECRET=dot\n")
    monkeypatch.setenv("EXCHANGE_API_SECRET", "from-env")
    s = load_settings(write(tmp_path, "{}"))
    assert s.secrets.exchange_api_key is not None
    assert s.secrets.exchange_api_key.get_secret_value() == "from-dotenv"
    assert s.secrets.exchange_api_secret.get_secret_value() == "from-env"  # type: ignore[union-attr]
    dumped = str(s.model_dump()) + repr(s)
    assert "from-dotenv" not in dumped and "from-env" not in dumped


def test_database_url_from_env_wins(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, "{}"),
                      env={"TRADELOOP_DATABASE_URL": "postgresql://u:p@h/db"})
    assert s.database_url == "postgresql://u:p@h/db"


def test_missing_named_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_each_strategy_may_have_its_own_entry_limits(tmp_path: Path) -> None:
    from tradeloop.app import risk_limits

    s = load_settings(write(tmp_path, "risk: {max_open_positions: 3, strategies: {ma_cross: "
                                      "{max_open_positions: 1, max_daily_trades: 2}}}\n"),
                      env={})
    own, ml = risk_limits(s, "ma_cross"), risk_limits(s, "ml")
    assert (own.max_open_positions, own.max_daily_trades) == (1, 2)
    assert (ml.max_open_positions, ml.max_daily_trades) == (3, 0)
    assert own.max_drawdown == ml.max_drawdown == 0.15  # the account's halt is shared
    assert risk_limits(s) == ml  # the configured strategy (ml) by default
