"""What the dashboard's Strategies view reads: the library, the imported strategy files, the
optimisation studies (trials, parameter importance, in- vs out-of-sample) and one backtest
drawn for inspection (equity, drawdown, trades, buy and hold)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradeloop.app.optimisation import StudyReport, storage_url, study_report
from tradeloop.app.stores import open_store
from tradeloop.app.strategy_files import settings_for_file
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import DataError, TradeloopError
from tradeloop.domain.performance import Performance, max_drawdown
from tradeloop.settings import Settings
from tradeloop.strategies.catalog import CATALOGUE, spec_of
from tradeloop.strategies.imported import PREFIX, imported_files, load_strategy_file


def library() -> pd.DataFrame:
    return pd.DataFrame([{"strategy": s.name, "version": s.version,
                          "trains models": s.needs_models, "parameters": len(s.schema.params),
                          "description": s.description} for s in CATALOGUE.values()])


def parameters(name: str) -> pd.DataFrame:
    return pd.DataFrame([{"parameter": p.name, "type": p.kind, "default": str(p.default),
                          "low": p.low, "high": p.high, "step": p.step,
                          "meaning": p.description} for p in spec_of(name).schema.params])


def files(settings: Settings) -> pd.DataFrame:
    """Every file in the project's ``strategies/`` folder with its verdict and metrics."""
    rows = []
    for path in imported_files(settings):
        row: dict[str, Any] = {"file": path.name, "choice": f"{PREFIX}{path.name}"}
        try:
            sf = load_strategy_file(path)
        except TradeloopError as exc:
            rows.append(row | {"verdict": f"invalid: {exc}"})
            continue
        m = sf.metrics
        rows.append(row | {
            "strategy": sf.spec.name, "pair": sf.exchange["trading_pair"],
            "timeframe": sf.timeframe, "created": sf.created_at,
            "verdict": f"valid, {len(sf.warnings)} warnings" if sf.warnings else "valid",
            "trades": m.get("total_trades"), "win rate": m.get("win_rate"),
            "return": m.get("total_pnl"), "sharpe": m.get("sharpe"),
            "deflated sharpe p": m.get("deflated_sharpe_probability"), "pbo": m.get("pbo")})
    return pd.DataFrame(rows)


def _storage(settings: Settings) -> str | None:
    """The studies' database, or None when a SQLite project has none yet (never created
    here: a dashboard only reads)."""
    url = storage_url(settings)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return url


def studies(settings: Settings) -> pd.DataFrame:
    import optuna

    url = _storage(settings)
    if url is None:
        return pd.DataFrame()
    rows = []
    for s in optuna.get_all_study_summaries(url, include_best_trial=True):
        spec = s.user_attrs.get("spec", {})
        rows.append({"study": s.study_name, "strategy": spec.get("strategy"),
                     "symbol": spec.get("symbol"), "timeframe": spec.get("timeframe"),
                     "objective": spec.get("objective"), "trials": s.n_trials,
                     "best": s.best_trial.value if s.best_trial is not None else None,
                     "started": s.datetime_start})
    return pd.DataFrame(rows)


@dataclass
class StudyView:
    report: StudyReport
    trials: pd.DataFrame  # number, state, value, best so far, trades, params
    importance: dict[str, float]
    folds: pd.DataFrame
    params: dict[int, dict[str, Any]]  # completed trials' parameters, by trial number


def study(settings: Settings, name: str) -> StudyView:
    import optuna

    url = _storage(settings)
    if url is None:
        raise DataError(f"no optimisation study named {name!r}")
    report = study_report(settings, name)
    st = optuna.load_study(study_name=name, storage=url)
    rows, best = [], -math.inf
    for t in st.trials:
        value = float(t.value) if t.value is not None else None
        if value is not None:
            best = max(best, value)
        rows.append({"trial": t.number, "state": t.state.name, "value": value,
                     "best so far": best if math.isfinite(best) else None,
                     "trades": t.user_attrs.get("trades"),
                     "return": t.user_attrs.get("total_return"),
                     "note": t.user_attrs.get("reason", ""), **t.params})
    complete = [t for t in st.trials if t.state == optuna.trial.TrialState.COMPLETE]
    importance: dict[str, float] = {}
    if len(complete) >= 4 and len({t.value for t in complete}) > 1:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        importance = dict(optuna.importance.get_param_importances(st, evaluator=evaluator))
    folds = pd.DataFrame([{"fold": f.fold, "chosen trial": f.chosen,
                           "in-sample days": f.in_sample_days, "in-sample": f.in_sample,
                           "out-of-sample days": f.out_sample_days,
                           "out-of-sample": f.out_sample if math.isfinite(f.out_sample)
                           else None, "median trial out-of-sample": f.out_sample_median
                           if math.isfinite(f.out_sample_median) else None}
                          for f in report.folds])
    return StudyView(report, pd.DataFrame(rows), importance, folds,
                     {t.number: dict(t.params) for t in complete})


@dataclass
class BacktestView:
    """One backtest drawn: its candles, equity against buy and hold, trades, metrics."""

    settings: Settings
    candles: pd.DataFrame  # time, open, high, low, close
    equity: pd.DataFrame  # time, equity, buy_and_hold, drawdown_percent
    trades: pd.DataFrame
    performance: Performance

    def metrics(self) -> pd.DataFrame:
        """The metrics table: the strategy beside buy and hold of the same window."""
        p = self.performance
        bh = self.equity["buy_and_hold"].to_numpy()
        bh_dd = max_drawdown(bh)
        return pd.DataFrame([
            {"metric": "total return", "strategy": p.total_return,
             "buy and hold": p.buy_and_hold_return},
            {"metric": "max drawdown", "strategy": p.max_drawdown, "buy and hold": bh_dd},
            {"metric": "sharpe", "strategy": _finite(p.sharpe), "buy and hold": None},
            {"metric": "sortino", "strategy": _finite(p.sortino), "buy and hold": None},
            {"metric": "trades", "strategy": float(p.trades), "buy and hold": 1.0},
            {"metric": "win rate", "strategy": p.win_rate, "buy and hold": None},
            {"metric": "profit factor", "strategy": _finite(p.profit_factor),
             "buy and hold": None},
            {"metric": "average R", "strategy": p.average_r, "buy and hold": None},
            {"metric": "exposure", "strategy": p.exposure, "buy and hold": 1.0}])


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def settings_for(settings: Settings, *, strategy: str | None = None,
                 params: dict[str, Any] | None = None, symbol: str | None = None,
                 timeframe: str | None = None, file: Path | None = None) -> Settings:
    """The settings one backtest of the view runs: an imported ``file`` as it trades, or a
    library ``strategy`` with ``params`` on one ``symbol`` and ``timeframe``."""
    if file is not None:
        return settings_for_file(settings, file)
    assert strategy is not None and symbol is not None and timeframe is not None
    spec = spec_of(strategy)
    data = settings.model_dump()
    data["trading"]["strategy"] = strategy
    if spec.schema.params:
        data["trading"]["params"][spec.key] = spec.schema.resolve(params or {},
                                                                   f"strategy {strategy!r}")
    data["symbols"] = [symbol]
    if not spec.needs_models:
        data["timeframes"] = {"intervals": [{"interval": timeframe, "weight": 1.0}]}
    return settings.rebuilt(data)


def backtest(settings: Settings, start_ms: int, end_ms: int) -> BacktestView:
    """Backtest ``settings`` (its one symbol, finest timeframe) over ``[start, end)`` without
    recording anything."""
    from tradeloop.app.backtests import run_backtest  # imports torch

    symbol = settings.symbols[0]
    tf = settings.timeframes.names[0]
    store = open_store(settings)
    try:
        key = SeriesKey(settings.exchange.name, symbol, tf)
        candles = store.candles.load(key, start_ms=start_ms, end_ms=end_ms)
        if not len(candles):
            raise DataError(f"no stored candles of {key} in the window")
        res = run_backtest(settings, store, [symbol], start_ms, end_ms, files=False,
                           record=False, retraining=False)
    finally:
        store.close()
    times = pd.to_datetime(candles.open_time, unit="ms")
    frame = pd.DataFrame({"time": times, "open": candles.open, "high": candles.high,
                          "low": candles.low, "close": candles.close})
    initial = settings.trading.initial_balance
    curve = [(t, e) for t, e in res.engine.equity_curve if start_ms < t <= end_ms]
    eq_t = np.array([t for t, _ in curve], dtype=np.int64)
    eq = np.array([e for _, e in curve], dtype=np.float64)
    closes = np.asarray(candles.close, dtype=np.float64)
    close_t = np.asarray(candles.open_time, dtype=np.int64) + (
        np.int64(candles.open_time[1] - candles.open_time[0]) if len(closes) > 1 else 0)
    idx = np.clip(np.searchsorted(close_t, eq_t, side="right") - 1, 0, len(closes) - 1)
    bh = initial * closes[idx] / closes[0]
    peak = np.maximum.accumulate(eq) if len(eq) else eq
    equity = pd.DataFrame({"time": pd.to_datetime(eq_t, unit="ms"), "equity": eq,
                           "buy_and_hold": bh,
                           "drawdown_percent": 100 * (1 - eq / peak) if len(eq) else eq})
    trades = pd.DataFrame([{
        "symbol": t.symbol, "entry_time": pd.to_datetime(t.entry_time_ms, unit="ms"),
        "entry_price": t.entry_price,
        "exit_time": pd.to_datetime(t.exit_time_ms, unit="ms"),
        "exit_price": t.exit_price, "quantity": t.quantity, "pnl": t.pnl,
        "pnl_percent": t.pnl_percent, "exit_reason": t.exit_reason}
        for t, _ in res.engine.trades])
    return BacktestView(settings, frame, equity, trades, res.performance)
