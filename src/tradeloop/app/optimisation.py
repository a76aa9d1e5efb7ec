"""Optimisation studies (``tradeloop optimize``): optuna over a rule strategy's parameter
schema, each trial one backtest of the whole window through the one engine (nothing
written), walk-forward folds, the deflated Sharpe ratio of the choice and the probability of
backtest overfitting of the study.

Studies live in an optuna database beside the project's (optuna keeps its own
``alembic_version`` table, which would clash with ours): ``optuna.db`` next to a SQLite
database, schema ``optuna`` of a PostgreSQL one. A study resumes by name after a crash or a
Ctrl+C; every finished trial is kept. Each study is an MLflow parent run with a nested run
per trial.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tradeloop.adapters.store.database import normalise_url
from tradeloop.app.stores import open_store
from tradeloop.domain.errors import ConfigError, TradeloopError
from tradeloop.domain.overfitting import (
    BacktestOverfitting,
    DeflatedSharpe,
    backtest_overfitting,
    deflated_sharpe,
    sharpe,
)
from tradeloop.ports import StoreHandle
from tradeloop.research.walk_forward import (
    DAY_MS,
    OBJECTIVES,
    Fold,
    daily_returns,
    score,
    search_window,
    walk_forward,
)
from tradeloop.settings import Settings
from tradeloop.strategies.catalog import spec_of
from tradeloop.strategies.params import Param

SAMPLERS = ("nsga2", "tpe", "random")


@dataclass(frozen=True)
class StudySpec:
    strategy: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    objective: str = "sharpe"
    sampler: str = "nsga2"
    min_trades: int = 30
    folds: int = 4
    seed: int = 42

    def check(self) -> None:
        spec = spec_of(self.strategy)
        if spec.needs_models:
            raise ConfigError(f"{self.strategy} trains models: optimize searches rule "
                              f"strategies (the ML strategy learns its own parameters)")
        if not spec.schema.params:
            raise ConfigError(f"{self.strategy} has no parameters to optimise")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"unknown objective {self.objective!r}; choose one of "
                              f"{', '.join(OBJECTIVES)}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {self.sampler!r}; choose one of "
                              f"{', '.join(SAMPLERS)}")
        days = (self.end_ms - self.start_ms) // DAY_MS
        if days < 4 * (self.folds + 1):
            raise ConfigError(f"{days} days are too few for {self.folds} walk-forward folds "
                              f"(at least {4 * (self.folds + 1)})")


@dataclass
class StudyReport:
    """What a study found and how much of it is luck."""

    name: str
    spec: StudySpec
    trials: int  # every trial tried: completed, pruned and failed
    completed: int
    pruned: int
    failed: int
    best_number: int | None
    best_params: dict[str, Any]
    best_value: float | None
    folds: list[Fold] = field(default_factory=list)
    deflated: DeflatedSharpe | None = None
    overfitting: BacktestOverfitting | None = None
    interrupted: bool = False
    seconds: float = 0.0

    def metrics(self) -> dict[str, Any]:
        """The figures a strategy file's ``backtest_metrics`` and MLflow carry."""
        out: dict[str, Any] = {"study": self.name, "trials": self.trials}
        if self.deflated is not None:
            out.update(deflated_sharpe_probability=self.deflated.probability,
                       deflated_sharpe_benchmark=self.deflated.benchmark)
        if self.overfitting is not None:
            out["pbo"] = self.overfitting.pbo
        return out


def storage_url(settings: Settings) -> str:
    url = settings.database_url
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path in ("", ":memory:"):
            raise ConfigError("optimisation studies need a database file, not :memory:")
        return f"sqlite:///{path.rsplit('/', 1)[0]}/optuna.db" if "/" in path else \
            "sqlite:///optuna.db"
    from sqlalchemy import create_engine, text

    url = normalise_url(url)  # psycopg 3
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS optuna"))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3Doptuna"


def _sampler(name: str, seed: int) -> Any:
    import optuna

    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def _suggest(trial: Any, p: Param) -> Any:
    if p.kind == "bool":
        return trial.suggest_categorical(p.name, [False, True])
    lo, hi = p.search_range
    step = p.step or (1 if p.kind == "int" else None)
    if step is not None:
        hi = lo + math.floor((hi - lo) / step + 1e-9) * step
    if p.kind == "int":
        return trial.suggest_int(p.name, int(lo), int(hi), step=int(step or 1))
    return round(trial.suggest_float(p.name, float(lo), round(float(hi), 10), step=step), 10)


# -- one trial: a backtest of the whole window, in this process or a worker ---------------------
_WORKER: dict[str, Any] = {}


def _init_worker(settings: Settings) -> None:
    import torch

    torch.set_num_threads(1)
    _WORKER["settings"], _WORKER["store"] = settings, open_store(settings, migrate=False)


def _evaluate_in_worker(spec: StudySpec, params: dict[str, Any]) -> dict[str, Any]:
    return evaluate(_WORKER["settings"], _WORKER["store"], spec, params)


def evaluate(settings: Settings, store: StoreHandle, spec: StudySpec, params: dict[str, Any]
             ) -> dict[str, Any]:
    """Backtest ``params`` over the study's window: daily returns and trades closed per day."""
    from tradeloop.app.backtests import run_backtest

    strategy = spec_of(spec.strategy)
    values = strategy.schema.resolve(params, f"strategy {spec.strategy!r}")
    trading = settings.trading.model_copy(update={
        "strategy": spec.strategy, "params": {**settings.trading.params, strategy.key: values}})
    s = settings.model_copy(update={"trading": trading})
    res = run_backtest(s, store, [spec.symbol], spec.start_ms, spec.end_ms, files=False,
                       record=False, retraining=False)
    curve = [(t, e) for t, e in res.engine.equity_curve if spec.start_ms < t <= spec.end_ms]
    times = np.array([t for t, _ in curve], dtype=np.int64)
    equity = np.array([e for _, e in curve], dtype=np.float64)
    returns = daily_returns(times, equity, spec.start_ms, spec.end_ms,
                            settings.trading.initial_balance)
    per_day = np.zeros(len(returns), dtype=np.int64)
    for trade, _ in res.engine.trades:
        day = (trade.exit_time_ms - spec.start_ms) // DAY_MS
        if 0 <= day < len(per_day):
            per_day[day] += 1
    return {"returns": returns.tolist(), "trades_per_day": per_day.tolist(),
            "trades": int(per_day.sum()), "total_return": res.performance.total_return}


def _trial_settings(settings: Settings, spec: StudySpec) -> Settings:
    data = settings.model_dump()
    data["timeframes"] = {"intervals": [{"interval": spec.timeframe, "weight": 1.0}]}
    data["symbols"] = [spec.symbol]
    return settings.rebuilt(data)


def run_study(settings: Settings, spec: StudySpec | None, trials: int, *, jobs: int = 1,
              name: str | None = None, resume: str | None = None,
              progress: Callable[[int, int, float | None], None] | None = None,
              executor: str = "process") -> StudyReport:
    """Run a new study of ``spec`` (or ``resume`` a stored one, with its own spec) until it
    holds ``trials`` trials, ``jobs`` at once in worker processes or as Ray tasks
    (``executor``; Ray: the configured ``continuous_learning.executor.ray_address``);
    Ctrl+C keeps what finished."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = storage_url(settings)
    if resume is not None:
        try:
            study = optuna.load_study(study_name=resume, storage=url)
        except KeyError:
            raise ConfigError(f"no optimisation study named {resume!r} in {url}") from None
        spec = StudySpec(**study.user_attrs["spec"])
        study.sampler = _sampler(spec.sampler, spec.seed + len(study.trials))
    else:
        if spec is None:
            raise ConfigError("a new study needs its strategy, symbol, timeframe and window")
        spec.check()
        name = name or (f"{spec.strategy}-{spec.symbol.replace('/', '')}-{spec.timeframe}-"
                        f"{datetime.now(UTC):%Y%m%d%H%M%S}")
        study = optuna.create_study(study_name=name, storage=url, direction="maximize",
                                    sampler=_sampler(spec.sampler, spec.seed))
        study.set_user_attr("spec", spec.__dict__)
    for t in study.trials:  # trials a crash left running are lost: say so and go on
        if t.state == optuna.trial.TrialState.RUNNING:
            study.tell(t.number, state=optuna.trial.TrialState.FAIL)
    trial_settings = _trial_settings(settings, spec)
    schema = spec_of(spec.strategy).schema
    days = -(-(spec.end_ms - spec.start_ms) // DAY_MS)
    window = search_window(days, spec.folds)
    todo = max(0, trials - len(study.trials))
    started = datetime.now(UTC)
    parallel = jobs > 1 or executor == "ray"
    store = open_store(trial_settings) if not parallel else None
    pool: Any = None
    if executor == "ray":
        from tradeloop.adapters.executors.ray_pool import RayExecutor

        pool = RayExecutor(address=settings.continuous_learning.executor.ray_address,
                           workers=jobs, initializer=_init_worker,
                           initargs=(trial_settings,))
    elif jobs > 1:
        pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(trial_settings,))
    pending: dict[Future[dict[str, Any]], Any] = {}
    launched, interrupted = 0, False

    def finish(trial: Any, outcome: dict[str, Any]) -> None:
        for k in ("returns", "trades_per_day", "trades", "total_return"):
            trial.set_user_attr(k, outcome[k])
        in_window = int(np.sum(outcome["trades_per_day"][window]))
        value = score(np.asarray(outcome["returns"])[window], spec.objective)
        if in_window < spec.min_trades or not math.isfinite(value):
            why = (f"{in_window} trades < --min-trades {spec.min_trades}"
                   if in_window < spec.min_trades else f"{spec.objective} undefined")
            trial.set_user_attr("reason", why)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)

    def report_progress() -> None:
        if progress is not None:
            best = _best_value(study)
            progress(len(study.trials) - len(pending), trials, best)

    try:
        report_progress()
        while launched < todo or pending:
            while launched < todo and len(pending) < max(jobs, 1):
                trial = study.ask()
                params = {p.name: _suggest(trial, p) for p in schema.params}
                launched += 1
                try:
                    schema.resolve(params, f"strategy {spec.strategy!r}")
                except TradeloopError as exc:
                    trial.set_user_attr("reason", str(exc))
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                if pool is None:
                    assert store is not None
                    finish(trial, evaluate(trial_settings, store, spec, params))
                    report_progress()
                else:
                    pending[pool.submit(_evaluate_in_worker, spec, params)] = trial
            if pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    finish(pending.pop(fut), fut.result())
                report_progress()
    except KeyboardInterrupt:
        interrupted = True
        for trial in pending.values():
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    finally:
        if pool is not None:
            pool.shutdown(wait=not interrupted, cancel_futures=True)
        if store is not None:
            store.close()
    out = study_report(settings, study.study_name)
    out.interrupted = interrupted
    out.seconds = (datetime.now(UTC) - started).total_seconds()
    return out


def _best_value(study: Any) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:
        return None


def study_report(settings: Settings, name: str) -> StudyReport:
    """Recompute a stored study's walk-forward folds, deflated Sharpe and PBO."""
    import optuna

    try:
        study = optuna.load_study(study_name=name, storage=storage_url(settings))
    except KeyError:
        raise ConfigError(f"no optimisation study named {name!r}") from None
    spec = StudySpec(**study.user_attrs["spec"])
    states = optuna.trial.TrialState
    complete = [t for t in study.trials if t.state == states.COMPLETE]
    report = StudyReport(
        name, spec, len(study.trials), len(complete),
        sum(t.state == states.PRUNED for t in study.trials),
        sum(t.state == states.FAIL for t in study.trials), None, {}, None)
    if not complete:
        return report
    values = [float(t.value) if t.value is not None else -math.inf for t in complete]
    best = complete[int(np.argmax(values))]
    report.best_number, report.best_params, report.best_value = \
        best.number, dict(best.params), max(values)
    matrix = np.array([t.user_attrs["returns"] for t in complete]).T  # days x trials
    days = matrix.shape[0]
    report.folds = [replace(f, chosen=complete[f.chosen].number)  # column -> trial number
                    for f in walk_forward(matrix, spec.folds, spec.objective)]
    window = search_window(days, spec.folds)
    sharpes = np.array([sharpe(matrix[window, j]) for j in range(matrix.shape[1])])
    finite = sharpes[np.isfinite(sharpes)]
    chosen = np.asarray(best.user_attrs["returns"])[window]
    if np.std(chosen) > 0:
        report.deflated = deflated_sharpe(chosen, report.trials,
                                          float(np.var(finite, ddof=1)) if len(finite) > 1
                                          else 0.0)
    blocks = 16 if days >= 160 else (days // 10) // 2 * 2
    if matrix.shape[1] >= 2 and blocks >= 2:
        report.overfitting = backtest_overfitting(matrix, blocks)
    return report


def log_study_to_mlflow(settings: Settings, report: StudyReport) -> str:
    """The study as an MLflow parent run with one nested run per trial; returns its run id."""
    import mlflow
    import optuna

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    exp = client.get_experiment_by_name("optimisation")
    exp_id = exp.experiment_id if exp is not None else client.create_experiment(
        "optimisation", artifact_location=settings.mlflow_artifact_location)
    study = optuna.load_study(study_name=report.name, storage=storage_url(settings))
    parent = client.create_run(exp_id, run_name=report.name, tags={"study": report.name})
    pid = parent.info.run_id
    s = report.spec
    for k, v in {"strategy": s.strategy, "symbol": s.symbol, "timeframe": s.timeframe,
                 "start": s.start_ms, "end": s.end_ms, "objective": s.objective,
                 "sampler": s.sampler, "min_trades": s.min_trades, "folds": s.folds}.items():
        client.log_param(pid, k, v)
    summary = {k: float(v) for k, v in report.metrics().items() if isinstance(v, int | float)}
    summary.update(completed=report.completed, pruned=report.pruned, failed=report.failed)
    if report.best_value is not None:
        summary["best_value"] = report.best_value
    for f in report.folds:
        summary[f"fold{f.fold}_in_sample"] = f.in_sample
        if math.isfinite(f.out_sample):
            summary[f"fold{f.fold}_out_of_sample"] = f.out_sample
    for k, v in summary.items():
        client.log_metric(pid, k, v)
    for t in study.trials:
        child = client.create_run(exp_id, run_name=f"{report.name}-trial{t.number}",
                                  tags={"mlflow.parentRunId": pid, "study": report.name,
                                        "state": t.state.name})
        for k, v in t.params.items():
            client.log_param(child.info.run_id, k, v)
        if t.value is not None:
            client.log_metric(child.info.run_id, "value", float(t.value))
        for k in ("trades", "total_return"):
            if k in t.user_attrs:
                client.log_metric(child.info.run_id, k, float(t.user_attrs[k]))
        client.set_terminated(child.info.run_id)
    client.set_terminated(pid)
    return str(pid)
