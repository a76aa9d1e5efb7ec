"""The dashboard's Strategies view (Streamlit AppTest) on a project with an optimisation study
and an imported strategy file: the library and its parameters, the files with their verdicts,
the study's trials, parameter importance and walk-forward folds with the deflated Sharpe and
PBO, the export button, and any backtest drawn with equity, drawdown, trades and the metrics
beside buy and hold, equal to the engine's own backtest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.acceptance.test_dashboard import ROOT, charts, values
from tests.integration.test_optimisation import CONFIG, DAY, T0, market
from tradeloop.app import open_store
from tradeloop.app.backtests import run_backtest
from tradeloop.app.optimisation import StudySpec, run_study, study_report
from tradeloop.app.research_views import settings_for
from tradeloop.cli import main as cli
from tradeloop.domain.candles import SeriesKey
from tradeloop.settings import load_settings
from tradeloop.strategies.strategy_file import parse

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
SPEC = StudySpec("ma_cross", "XX/USDT", "4h", T0 + 10 * DAY, T0 + 200 * DAY, "sharpe",
                 "random", min_trades=5, folds=3)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("strategies_view")
    (root / "config.yaml").write_text(CONFIG.replace("fee_bps: 0", "fee_bps: 5"))
    settings = load_settings(root / "config.yaml", env={})
    drift = np.where((np.arange(1300) // 60) % 2 == 0, 0.003, -0.003)  # 10-day trends
    store = open_store(settings)
    store.candles.write(SeriesKey("binance", "XX/USDT", "4h"),
                        market(drift + np.random.default_rng(4).normal(0, 0.01, 1300)))
    store.close()
    run_study(settings, SPEC, 12, name="view-study")
    cfg = str(root / "config.yaml")
    assert cli(["--config", cfg, "strategy", "export", "ma_cross", "--study", "view-study",
                "--symbol", "XX/USDT", "--timeframe", "4h", "--to",
                str(root / "best.json")]) == 0
    assert cli(["--config", cfg, "strategy", "import", str(root / "best.json")]) == 0
    return root


def open_view(project: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TRADELOOP_CONFIG", str(project / "config.yaml"))
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    app.sidebar.radio(key="view").set_value("Strategies")
    app.run()
    assert not app.exception, app.exception
    return app


def test_library_files_and_study(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_view(project, monkeypatch)
    tables = [el.value for el in app.dataframe]
    library = next(t for t in tables if "trains models" in t.columns)
    assert {"seller_exhaustion", "ma_cross", "ml", "momentum_breakout"} <= set(library["strategy"])
    app.selectbox(key="library_strategy").select("seller_exhaustion")
    app.run()
    params = next(t for t in (el.value for el in app.dataframe) if "meaning" in t.columns)
    assert {"ema_fast", "z_window", "cloc_min", "fib_swing_lookahead"} <= set(params["parameter"])
    files = next(t for t in tables if "verdict" in t.columns)
    assert list(files["choice"]) == ["file:best.json"]
    assert files["verdict"].iloc[0].startswith("valid")
    report = study_report(load_settings(project / "config.yaml", env={}), "view-study")
    m = {x.label: x.value for x in app.metric}
    assert m["Trials"] == "12"
    assert report.deflated is not None and report.overfitting is not None
    assert m["Deflated Sharpe p"] == f"{report.deflated.probability:.2f}"
    assert m["PBO"] == f"{report.overfitting.pbo:.2f}"
    figs = charts(app)
    per_trial = figs["sharpe per trial"]["data"]
    assert len(values(per_trial[0], "y")) == report.completed
    assert max(values(per_trial[0], "y")) == pytest.approx(report.best_value)
    assert set(values(figs["Parameter importance (fANOVA)"]["data"][0], "y")) == {"fast", "slow"}
    folds = figs["Walk-forward: in- vs out-of-sample sharpe"]["data"]
    assert values(folds[0], "y") == pytest.approx([f.in_sample for f in report.folds])
    assert values(folds[1], "y") == pytest.approx([f.out_sample for f in report.folds])

    app.button(key="btn_export").click()
    app.run()
    assert not app.exception, app.exception
    assert app.get("download_button")  # the file of the best trial, ready to download
    exported = json.loads((project / "best.json").read_text())
    sf = parse(exported, "best.json")
    assert sf.params == {**sf.params, **report.best_params}


def test_a_trial_backtest_is_drawn_as_the_engine_ran_it(project: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_view(project, monkeypatch)
    app.radio(key="bt_source").set_value("Trial of the study")
    app.run()
    app.button(key="btn_backtest").click()
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    settings = load_settings(project / "config.yaml", env={})
    report = study_report(settings, "view-study")
    s = settings_for(settings, strategy="ma_cross", params=report.best_params,
                     symbol="XX/USDT", timeframe="4h")
    store = open_store(s)
    try:
        ref = run_backtest(s, store, ["XX/USDT"], SPEC.start_ms, SPEC.end_ms, files=False,
                           record=False, retraining=False)
    finally:
        store.close()
    figs = charts(app)
    title = f"ma_cross trial {report.best_number} on XX/USDT 4h"
    equity = figs[f"Equity and drawdown: {title}"]["data"]
    assert [t["name"] for t in equity] == ["strategy", "buy and hold", "drawdown %"]
    curve = [e for t, e in ref.engine.equity_curve if SPEC.start_ms < t <= SPEC.end_ms]
    assert values(equity[0], "y") == pytest.approx(curve)
    bh = values(equity[1], "y")
    assert bh[-1] / bh[0] - 1 == pytest.approx(ref.performance.buy_and_hold_return, rel=0.02)
    drawn = next(f for name, f in figs.items() if name.startswith("Trades on the last"))
    marks = {t["name"]: t for t in drawn["data"]}
    assert len(values(marks["entry"], "y")) == ref.performance.trades > 0
    metrics = next(el.value for el in app.dataframe if "buy and hold" in el.value.columns)
    row = metrics.set_index("metric")
    assert row.loc["total return", "strategy"] == pytest.approx(ref.performance.total_return)
    assert row.loc["total return", "buy and hold"] == \
        pytest.approx(ref.performance.buy_and_hold_return)
    assert row.loc["trades", "strategy"] == ref.performance.trades

    app.radio(key="bt_source").set_value("Imported file")
    app.run()
    app.button(key="btn_backtest").click()
    app.run()
    assert not app.exception and not app.error
    assert "Equity and drawdown: best.json" in charts(app)


def test_the_controls_offer_the_imported_file(project: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_view(project, monkeypatch)
    app.sidebar.radio(key="view").set_value("Controls")
    app.run()
    assert any(o.startswith("file:best.json") for o in
               app.selectbox(key="strategy_choice").options)
