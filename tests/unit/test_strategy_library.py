"""The strategy library: schemas that check what a user wrote, one clear error per problem,
and the catalogue behind `trading.params` and `tradeloop strategy list`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tradeloop.cli import main as cli
from tradeloop.domain.errors import ConfigError
from tradeloop.settings import load_settings
from tradeloop.strategies.catalog import CATALOGUE, make_strategy, spec_of
from tradeloop.strategies.ma_cross import MaCrossStrategy
from tradeloop.strategies.params import Param, ParamSchema, Rule

SCHEMA = ParamSchema(
    (Param("n", "int", 5, 2, 100, 1), Param("x", "float", 0.5, 0, 1, 0.1),
     Param("on", "bool", True)),
    (Rule(lambda p: p["n"] > 3 or not p["on"], "n must exceed 3 while on"),))


def test_a_schema_fills_defaults_and_coerces_types() -> None:
    assert SCHEMA.defaults() == {"n": 5, "x": 0.5, "on": True}
    assert SCHEMA.resolve({"n": 7.0, "x": 1}, "s") == {"n": 7, "x": 1.0, "on": True}
    assert isinstance(SCHEMA.resolve({"n": 7.0}, "s")["n"], int)


@pytest.mark.parametrize(("values", "message"), [
    ({"m": 1}, "s: unknown parameter 'm'; known: n, on, x"),
    ({"n": "7"}, "s.n: expected a number (int), got '7'"),
    ({"n": True}, "s.n: expected a number (int), got True"),
    ({"n": 7.5}, "s.n: expected a whole number, got 7.5"),
    ({"n": 101}, "s.n: 101 is out of range [2, 100]"),
    ({"x": float("nan")}, "s.x: expected a finite number, got nan"),
    ({"on": 1}, "s.on: expected true or false, got 1"),
    ({"n": 3}, "s: n must exceed 3 while on"),
])
def test_every_kind_of_bad_value_gets_its_own_error(values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        SCHEMA.resolve(values, "s")
    assert str(err.value).startswith(message)


def test_a_complete_set_is_required_where_asked() -> None:
    with pytest.raises(ConfigError, match="s: missing parameter 'x'"):
        SCHEMA.resolve({"n": 5, "on": True}, "s", complete=True)


def test_the_catalogue_builds_every_strategy_from_its_defaults() -> None:
    for name, spec in CATALOGUE.items():
        strategy = make_strategy(name)
        assert strategy.name == name and strategy.needs_models == spec.needs_models
        assert spec.version.count(".") == 2
        for p in spec.schema.params:  # defaults sit inside their ranges, with a step
            assert p.check(p.default, name) == p.default
            assert p.kind == "bool" or p.step is not None
    fast = make_strategy("ma_cross", {"fast": 5, "slow": 50})
    assert isinstance(fast, MaCrossStrategy) and (fast.p.fast, fast.p.slow) == (5, 50)
    with pytest.raises(ConfigError, match="strategy 'ma_cross': fast must be below slow"):
        make_strategy("ma_cross", {"fast": 60, "slow": 50})
    with pytest.raises(ConfigError, match="unknown strategy 'momo'"):
        spec_of("momo")


def test_config_params_are_checked_at_load(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("trading: {strategy: ma_cross, params: {ma_cross: {fast: 3}}}\n")
    params = load_settings(cfg, env={}).trading.params
    assert params["ma_cross"] == {"fast": 3, "slow": 30}  # defaults filled in
    assert params["breakout"] == spec_of("breakout").schema.defaults()
    cfg.write_text("trading: {params: {ml+breakout: {range_bars: 3}}}\n")
    with pytest.raises(ConfigError, match=re.escape("ml+breakout reads trading.params.breakout")):
        load_settings(cfg, env={})
    cfg.write_text("trading: {params: {ma_cross: {fast: 3, slwo: 9}}}\n")
    with pytest.raises(ConfigError, match=re.escape(
            "trading.params.ma_cross: unknown parameter 'slwo'")):
        load_settings(cfg, env={})
    cfg.write_text("trading: {strategy: momo}\n")
    with pytest.raises(ConfigError, match="unknown strategy 'momo'"):
        load_settings(cfg, env={})
    cfg.write_text("trading: {ma_cross: {fast: 3}}\n")
    with pytest.raises(ConfigError, match=re.escape(
            "trading.ma_cross moved to trading.params.ma_cross")):
        load_settings(cfg, env={})


def test_strategy_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["strategy", "list"]) == 0
    out = capsys.readouterr().out
    assert "ma_cross v1.0.0" in out and "parameters: trading.params.breakout" in out
    assert "min_breakout_percent" in out and "[0, 50]" in out
    assert cli(["strategy", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(CATALOGUE)
    assert rows[3]["params"][0] == {"name": "fast", "type": "int", "default": 10, "low": 1,
                                    "high": 5000, "step": 1, "description":
                                    "fast SMA length (closes)"}
