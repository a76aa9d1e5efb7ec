"""Optimisation studies: on a driftless random walk the best of 200 trials is luck and the
statistics say so; on a planted trend they report significance. Studies resume after a crash
or a Ctrl+C, run in two worker processes, land in MLflow, and export with their figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tradeloop.app import open_store
from tradeloop.app.optimisation import StudySpec, log_study_to_mlflow, run_study, study_report
from tradeloop.cli import main as cli
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.domain.errors import ConfigError
from tradeloop.research.walk_forward import daily_returns, score, segments
from tradeloop.settings import Settings, load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
T0 = 1_704_067_200_000  # 2024-01-01
DAY, BAR = 86_400_000, 4 * 3_600_000
CONFIG = """
exchange: {name: binance}
symbols: [XX/USDT]
timeframes: {intervals: [{interval: 4h, weight: 1.0}]}
trading: {fee_bps: 0, slippage_bps: 0}
risk: {max_consecutive_losses: 1000}
"""


def market(returns: np.ndarray) -> CandleArrays:
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[100.0], close[:-1]])
    return CandleArrays.from_columns(
        open_time=T0 + np.arange(len(close), dtype=np.int64) * BAR, open=open_,
        high=np.maximum(open_, close) * 1.002, low=np.minimum(open_, close) * 0.998,
        close=close, volume=np.full(len(close), 100.0))


def project(root: Path, returns: np.ndarray, database: str | None = None) -> Settings:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(CONFIG + (f"database: {{url: '{database}'}}\n"
                                                if database else ""))
    settings = load_settings(root / "config.yaml", env={})
    store = open_store(settings)
    store.candles.write(SeriesKey("binance", "XX/USDT", "4h"), market(returns))
    store.close()
    return settings


SPEC = StudySpec("ma_cross", "XX/USDT", "4h", T0 + 10 * DAY, T0 + 375 * DAY, "sharpe", "nsga2",
                 min_trades=10, folds=4)


def test_two_hundred_trials_on_a_random_walk_find_luck_and_say_so(tmp_path: Path) -> None:
    """A random walk with its realised drift removed (a long-only rule would otherwise earn
    the path's drift in every block, a real property of that path): the best Sharpe ratio of
    200 trials is not significant after deflation, and the in-sample best is at or below the
    out-of-sample median in at least half of the CSCV splits."""
    r = np.random.default_rng(5).normal(0, 0.01, 2400)
    settings = project(tmp_path, r - r.mean())
    report = run_study(settings, SPEC, 200, jobs=2)
    assert report.trials == 200 and report.completed >= 30
    assert report.best_value is not None and report.best_value > 0.5  # it looks good ...
    assert report.deflated is not None and report.deflated.probability < 0.95  # ... it is not
    assert report.deflated.trials == 200
    assert report.overfitting is not None and report.overfitting.pbo >= 0.5
    assert len(report.folds) == 4 and report.folds[-1].in_sample_days == 292


def test_a_planted_trend_is_significant(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    drift = np.where((np.arange(2400) // 60) % 2 == 0, 0.004, -0.004)  # 10-day trends
    settings = project(tmp_path, drift + rng.normal(0, 0.01, 2400))
    report = run_study(settings, SPEC, 60)
    assert report.deflated is not None and report.deflated.probability >= 0.95
    assert report.overfitting is not None and report.overfitting.pbo < 0.2
    assert all(f.out_sample > 0 for f in report.folds)  # the choice holds out of sample


def test_a_study_resumes_after_ctrl_c_and_lands_in_mlflow(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    r = np.random.default_rng(8).normal(0, 0.01, 2400)
    settings = project(tmp_path, r)
    seen: list[int] = []

    def interrupt(done: int, total: int, best: float | None) -> None:
        seen.append(done)
        if done >= 6:
            raise KeyboardInterrupt

    first = run_study(settings, SPEC, 20, name="s1", progress=interrupt)
    assert first.interrupted and first.trials == 6  # what finished is kept
    again = run_study(settings, None, 20, resume="s1")
    assert not again.interrupted and again.trials == 20
    assert study_report(settings, "s1").best_value == again.best_value
    with pytest.raises(ConfigError, match="no optimisation study named 'nope'"):
        run_study(settings, None, 5, resume="nope")

    import mlflow

    run_id = log_study_to_mlflow(settings, again)
    client = mlflow.MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    parent = client.get_run(run_id)
    assert parent.data.params["strategy"] == "ma_cross" and "pbo" in parent.data.metrics
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{run_id}'")
    assert len(children) == 20

    out = tmp_path / "best.json"
    cfg = str(tmp_path / "config.yaml")
    assert cli(["--config", cfg, "strategy", "export", "ma_cross", "--study", "s1",
                "--symbol", "XX/USDT", "--timeframe", "4h", "--to", str(out)]) == 0
    metrics = json.loads(out.read_text())["backtest_metrics"]
    assert metrics["trials"] == 20 and 0 <= metrics["pbo"] <= 1
    assert 0 <= metrics["deflated_sharpe_probability"] <= 1
    assert cli(["--config", cfg, "optimize", "--resume", "s1", "--trials", "22",
                "--no-mlflow"]) == 0
    text = capsys.readouterr().out
    assert "22 trials" in text and "deflated Sharpe ratio" in text and "walk-forward" in text


def test_a_study_lives_in_postgresql_and_resumes_there(tmp_path: Path, pg_url: str) -> None:
    """On a PostgreSQL project the study is kept in its ``optuna`` schema (optuna's own
    alembic_version beside ours would clash) and resumes from there."""
    r = np.random.default_rng(9).normal(0, 0.01, 2400)
    settings = project(tmp_path, r, database=pg_url)
    first = run_study(settings, SPEC, 4, name="pg1")
    assert first.trials == 4
    again = run_study(settings, None, 8, resume="pg1")
    assert again.trials == 8 and study_report(settings, "pg1").trials == 8
    assert not (tmp_path / "data" / "optuna.db").exists()
    from sqlalchemy import create_engine, text

    from tradeloop.adapters.store.database import normalise_url

    engine = create_engine(normalise_url(pg_url))
    try:
        with engine.connect() as conn:
            names = conn.execute(text("SELECT study_name FROM optuna.studies")).scalars().all()
            ours = conn.execute(text("SELECT version_num FROM public.alembic_version")).all()
    finally:
        engine.dispose()
    assert names == ["pg1"] and len(ours) == 1


def test_bad_requests_are_refused_clearly(tmp_path: Path) -> None:
    settings = project(tmp_path, np.zeros(400))
    with pytest.raises(ConfigError, match="ml trains models"):
        run_study(settings, StudySpec("ml", "XX/USDT", "4h", T0, T0 + 60 * DAY), 5)
    with pytest.raises(ConfigError, match="too few for 4 walk-forward folds"):
        run_study(settings, StudySpec("ma_cross", "XX/USDT", "4h", T0, T0 + 10 * DAY), 5)
    with pytest.raises(ConfigError, match="unknown objective 'alpha'"):
        run_study(settings, StudySpec("ma_cross", "XX/USDT", "4h", T0, T0 + 60 * DAY,
                                      "alpha"), 5)


def test_walk_forward_pieces() -> None:
    assert [(s.start, s.stop) for s in segments(10, 4)] == [(0, 2), (2, 4), (4, 6), (6, 8),
                                                            (8, 10)]
    times = np.array([T0 + DAY // 2, T0 + DAY + 1, T0 + 2 * DAY + 5])
    r = daily_returns(times, np.array([110.0, 121.0, 121.0]), T0, T0 + 4 * DAY, 100.0)
    np.testing.assert_allclose(r, [0.1, 0.1, 0.0, 0.0])  # the last day keeps its equity
    assert score(np.array([0.1, -0.05]), "profit") == pytest.approx(1.1 * 0.95 - 1)
    assert score(np.array([0.01, 0.03]), "sharpe") == pytest.approx(
        0.02 / np.std([0.01, 0.03], ddof=1) * np.sqrt(365))
    assert np.isnan(score(np.array([0.01, 0.01]), "calmar"))  # no drawdown: undefined
