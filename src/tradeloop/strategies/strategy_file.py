"""The strategy file: seed 001's ``config.json`` (version 2.1.0) to and from the library.

Sections, in the seed's order: ``version``, ``created_at``, ``description``,
``strategy_name``, ``timeframe``, the strategy's parameter section (``seller_params`` for
Seller Exhaustion, ``<name>_params`` otherwise), ``backtest_params`` (its exit parameters and
the fee and slippage in basis points), ``risk_management``, ``exchange``, ``data_feed``,
``backtest_metrics``. Credentials are the seed's placeholders; a file holding anything else
there is refused, because keys come only from the environment. Pure: dicts in, dicts out;
reading and writing files is the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradeloop.domain.errors import ConfigError, TradeloopError
from tradeloop.settings import Settings
from tradeloop.strategies.catalog import StrategySpec, spec_by_file_name
from tradeloop.strategies.params import Param, ParamSchema

FILE_VERSION = "2.1.0"
PLACEHOLDERS = {"api_key": "YOUR_API_KEY_HERE", "api_secret": "YOUR_API_SECRET_HERE",
                "polygon_api_key": "YOUR_POLYGON_KEY_HERE"}
_PLACEHOLDER = re.compile(r"^(YOUR_[A-Z_]*_HERE|)$")
HEAD = ("version", "created_at", "description", "strategy_name", "timeframe")
TAIL = ("backtest_params", "risk_management", "exchange", "data_feed", "backtest_metrics")
COSTS = (Param("fee_bp", "float", 5.0, 0, 500, description="fee per side, basis points"),
         Param("slippage_bp", "float", 5.0, 0, 500, description="slippage, basis points"))
RISK = ParamSchema((
    Param("risk_per_trade_percent", "float", 1.0, 0.01, 100),
    Param("max_position_size_percent", "float", 10.0, 0.01, 100),
    Param("max_daily_loss_percent", "float", 5.0, 0.01, 100),
    Param("max_daily_trades", "int", 10, 0, 100_000),
    Param("max_open_positions", "int", 1, 1, 1000),
    Param("slippage_tolerance_percent", "float", 0.5, 0, 10),
    Param("order_timeout_seconds", "float", 30.0, 0.1, 3600)))
EXCHANGE = ParamSchema((
    Param("exchange_name", "str", "binance"), Param("trading_pair", "str", "BTC/USDT"),
    Param("base_currency", "str", "BTC"), Param("quote_currency", "str", "USDT"),
    Param("api_key", "str", None), Param("api_secret", "str", None),
    Param("api_passphrase", "str", None), Param("testnet", "bool", True),
    Param("enable_rate_limit", "bool", True), Param("paper_trading", "bool", True),
    Param("paper_initial_balance", "float", 10_000.0, 1, 1e12)))
DATA_FEED = ParamSchema((
    Param("data_source", "str", "exchange"), Param("polygon_api_key", "str", None),
    Param("use_websocket", "bool", True), Param("websocket_ping_interval", "float", 20, 1, 3600),
    Param("rest_api_interval_seconds", "float", 60, 1, 86_400),
    Param("max_missing_bars", "int", 3, 1, 1000), Param("validate_ohlcv", "bool", True)))
METRICS = ("total_trades", "win_rate", "avg_R", "total_pnl", "max_drawdown", "sharpe")
SECRET_KEYS = ("api_key", "api_secret", "api_passphrase", "polygon_api_key")


@dataclass(frozen=True)
class StrategyFile:
    """A checked strategy file."""

    spec: StrategySpec
    params: dict[str, Any]
    timeframe: str
    costs: dict[str, float]
    risk: dict[str, Any]
    exchange: dict[str, Any]
    data_feed: dict[str, Any]
    metrics: dict[str, Any]
    description: str
    created_at: str
    warnings: list[str] = field(default_factory=list)


def sections_of(spec: StrategySpec) -> tuple[str, ...]:
    return (*HEAD, spec.section, *TAIL)


def render(spec: StrategySpec, params: Mapping[str, Any], settings: Settings, symbol: str,
           timeframe: str, metrics: Mapping[str, Any], created_at: str,
           description: str | None = None) -> dict[str, Any]:
    """The file of ``spec`` with these checked ``params`` on ``symbol`` ``timeframe``."""
    values = spec.schema.resolve(params, spec.name)
    entry = {p.name: values[p.name] for p in spec.schema.params if not p.exit}
    exits = {p.name: values[p.name] for p in spec.schema.params if p.exit}
    base, quote = symbol.split("/")
    r, t, x = settings.risk.for_strategy(spec.name), settings.trading, settings.exchange
    return {
        "version": FILE_VERSION, "created_at": created_at,
        "description": description or spec.description, "strategy_name": spec.file_name,
        "timeframe": timeframe, spec.section: entry,
        "backtest_params": {**exits, "fee_bp": t.fee_bps, "slippage_bp": t.slippage_bps},
        "risk_management": {
            "risk_per_trade_percent": 100 * r.risk_per_trade,
            "max_position_size_percent": 100 * r.max_position_size_percent,
            "max_daily_loss_percent": 100 * r.daily_loss_limit,
            "max_daily_trades": r.max_daily_trades, "max_open_positions": r.max_open_positions,
            "slippage_tolerance_percent": settings.execution.slippage_tolerance_percent,
            "order_timeout_seconds": settings.execution.order_timeout_seconds},
        "exchange": {
            "exchange_name": x.name, "trading_pair": symbol, "base_currency": base,
            "quote_currency": quote, "api_key": PLACEHOLDERS["api_key"],
            "api_secret": PLACEHOLDERS["api_secret"], "api_passphrase": None,
            "testnet": settings.live_trading.mode != "live",
            "enable_rate_limit": True, "paper_trading": settings.live_trading.mode == "paper",
            "paper_initial_balance": t.initial_balance},
        "data_feed": {
            "data_source": "exchange", "polygon_api_key": PLACEHOLDERS["polygon_api_key"],
            "use_websocket": x.websocket, "websocket_ping_interval": 20,
            "rest_api_interval_seconds": 60, "max_missing_bars": x.max_missing_bars,
            "validate_ohlcv": True},
        "backtest_metrics": dict(metrics),
    }


def parse(doc: Any, where: str = "strategy file") -> StrategyFile:
    """Check a loaded file; ConfigError listing every problem, one per line."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    version = doc.get("version")
    if version != FILE_VERSION:
        hint = ("re-export it with this version of tradeloop" if _older(version) else
                "it is newer than this tradeloop: upgrade tradeloop")
        raise ConfigError(f"{where}: version {version!r} is not supported (this tradeloop "
                          f"reads strategy files version {FILE_VERSION}); {hint}")
    try:
        spec = spec_by_file_name(str(doc.get("strategy_name")))
    except TradeloopError as exc:
        raise ConfigError(f"{where}: strategy_name: {exc}") from None
    errors: list[str] = []
    expected = sections_of(spec)
    errors += [f"{where}: unknown key {k!r}" for k in doc if k not in expected]
    errors += [f"{where}: missing key {k!r}" for k in expected if k not in doc]
    if errors:
        raise ConfigError("\n".join(errors))
    for key in SECRET_KEYS:  # before anything else, and never echoing the value
        for section in ("exchange", "data_feed"):
            value = doc[section].get(key) if isinstance(doc[section], dict) else None
            if isinstance(value, str) and not _PLACEHOLDER.match(value):
                errors.append(f"{where}: {section}.{key} holds a real-looking credential: "
                              f"refused (keys come only from the environment: "
                              f"EXCHANGE_API_KEY / EXCHANGE_API_SECRET); put "
                              f"{PLACEHOLDERS.get(key, 'null')!r} there")
    if errors:
        raise ConfigError("\n".join(errors))

    def checked(schema: ParamSchema, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            errors.append(f"{where}: {name}: expected an object, got {value!r}")
            return {}
        try:
            return schema.resolve(value, f"{where}: {name}", complete=True)
        except TradeloopError as exc:
            errors.append(str(exc))
            return {}

    exit_names = {p.name for p in spec.schema.params if p.exit}
    bt = doc["backtest_params"] if isinstance(doc["backtest_params"], dict) else {}
    costs = checked(ParamSchema(COSTS), {k: v for k, v in bt.items() if k not in exit_names},
                    "backtest_params")
    entry = doc[spec.section] if isinstance(doc[spec.section], dict) else {}
    params = checked(spec.schema, {**entry, **{k: v for k, v in bt.items() if k in exit_names}},
                     f"{spec.section} + backtest_params")
    stray = sorted(set(entry) & exit_names)
    errors += [f"{where}: {spec.section}.{k} belongs in backtest_params" for k in stray]
    risk = checked(RISK, doc["risk_management"], "risk_management")
    exchange = checked(EXCHANGE, doc["exchange"], "exchange")
    feed = checked(DATA_FEED, doc["data_feed"], "data_feed")
    metrics = doc["backtest_metrics"]
    if not isinstance(metrics, dict):
        errors.append(f"{where}: backtest_metrics: expected an object")
        metrics = {}
    errors += [f"{where}: backtest_metrics: missing key {k!r}" for k in METRICS
               if k not in metrics]
    for key in ("timeframe", "created_at", "description"):
        if not isinstance(doc[key], str):
            errors.append(f"{where}: {key}: expected text, got {doc[key]!r}")
    if not errors:
        from tradeloop.domain.timeframes import Timeframe

        try:
            Timeframe.parse(doc["timeframe"])
        except TradeloopError as exc:
            errors.append(f"{where}: timeframe: {exc}")
    if exchange and "/" not in str(exchange.get("trading_pair")):
        errors.append(f"{where}: exchange.trading_pair: expected BASE/QUOTE, got "
                      f"{exchange.get('trading_pair')!r}")
    if errors:
        raise ConfigError("\n".join(errors))
    return StrategyFile(spec, params, doc["timeframe"], costs, risk, exchange, feed,
                        dict(metrics), doc["description"], doc["created_at"],
                        _warnings(spec, params, exchange, feed, metrics))


def _older(version: Any) -> bool:
    try:
        return tuple(int(x) for x in str(version).split(".")) < (2, 1, 0)
    except ValueError:
        return True


def _warnings(spec: StrategySpec, params: dict[str, Any], exchange: dict[str, Any],
              feed: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    out = []
    if not exchange["testnet"] and not exchange["paper_trading"]:
        out.append("exchange: testnet and paper_trading are both false: this file trades "
                   "real money once live_trading.mode is live")
    if params.get("use_stop_loss") is False:
        out.append("backtest_params.use_stop_loss is false: only the risk manager's stop "
                   "(risk.stop_loss_percent) protects a position")
    trades = metrics.get("total_trades")
    if isinstance(trades, int | float) and trades < 30:
        out.append(f"backtest_metrics: {trades:g} trades: too few for the metrics to mean much")
    if "deflated_sharpe_probability" not in metrics:
        out.append("backtest_metrics: no deflated Sharpe ratio (the parameters did not come "
                   "from an optimisation study that counted its trials)")
    if feed["data_source"] != "exchange":
        out.append(f"data_feed.data_source {feed['data_source']!r}: tradeloop reads candles "
                   f"from the exchange (ccxt); the setting is ignored")
    if not spec.schema.params:
        out.append(f"{spec.name} has no parameters of its own: its models and the "
                   f"continuous_learning settings decide")
    return out


def risk_of(sf: StrategyFile) -> dict[str, Any]:
    """The file's ``risk_management`` as ``risk`` settings keys (fractions)."""
    r = sf.risk
    return {"risk_per_trade": r["risk_per_trade_percent"] / 100,
            "max_position_size_percent": r["max_position_size_percent"] / 100,
            "daily_loss_limit": r["max_daily_loss_percent"] / 100,
            "max_daily_trades": r["max_daily_trades"],
            "max_open_positions": r["max_open_positions"]}


def apply(settings: Settings, sf: StrategyFile) -> Settings:
    """``settings`` trading this file: its strategy, parameters, costs, risk, symbol and (for
    a rule strategy) timeframe."""
    data = settings.model_dump()
    data["trading"].update(strategy=sf.spec.name, fee_bps=sf.costs["fee_bp"],
                           slippage_bps=sf.costs["slippage_bp"],
                           initial_balance=sf.exchange["paper_initial_balance"])
    data["trading"]["params"][sf.spec.key] = sf.params
    data["risk"]["strategies"][sf.spec.name] = {
        **data["risk"]["strategies"].get(sf.spec.name, {}), **risk_of(sf)}
    data["execution"].update(slippage_tolerance_percent=sf.risk["slippage_tolerance_percent"],
                             order_timeout_seconds=sf.risk["order_timeout_seconds"])
    data["exchange"].update(name=sf.exchange["exchange_name"], sandbox=sf.exchange["testnet"],
                            websocket=sf.data_feed["use_websocket"],
                            max_missing_bars=sf.data_feed["max_missing_bars"])
    data["symbols"] = [sf.exchange["trading_pair"]]
    if sf.spec.needs_models:
        if sf.timeframe not in settings.timeframes.names:
            raise ConfigError(f"strategy file timeframe {sf.timeframe} is not among the "
                              f"configured timeframes ({', '.join(settings.timeframes.names)})")
    else:
        data["timeframes"] = {"intervals": [{"interval": sf.timeframe, "weight": 1.0}]}
    try:
        return settings.rebuilt(data)
    except ValueError as exc:
        raise ConfigError(f"the strategy file does not fit this configuration: {exc}") from None
