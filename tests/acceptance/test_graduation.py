"""The graduation pipeline rehearsed on history (``tradeloop graduation --replay``): a
planted edge graduates to live and gets the largest allocation; a random walk sends nothing
to live; every transition and allocation is a row; the bands hold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.acceptance.test_dashboard import ROOT, charts, values
from tradeloop.adapters.store.graduation_records import GraduationRecords
from tradeloop.app import open_store
from tradeloop.app.graduation import Rehearsal, rehearse
from tradeloop.cli import main as cli
from tradeloop.domain.candles import CandleArrays, SeriesKey
from tradeloop.lifecycle.stages import MOVES, Stage
from tradeloop.settings import Settings, load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
T0 = 1_704_067_200_000  # 2024-01-01
DAY, BAR = 86_400_000, 3_600_000
BARS = 24 * 560
START, END = T0 + 130 * DAY, T0 + 550 * DAY
CONFIG = """
exchange: {name: binance}
symbols: [%s]
timeframes: {intervals: [{interval: 1h, weight: 1.0}]}
trading: {fee_bps: 5, slippage_bps: 0}
risk: {max_consecutive_losses: 1000, max_drawdown_percent: 50, stop_loss_percent: 3,
       take_profit_percent: 50}
graduation:
  timeframes: [1h]
  strategies: [ma_cross, mean_reversion, range_trading, seller_exhaustion]
  backtest: {lookback_days: 120, min_trades: 15}
  paper: {min_days: 30, max_days: 90, min_trades: 15}
"""


def market(seed: int, drift: float) -> CandleArrays:
    """Hourly candles: a random walk, with 3-day up and down trends of ``drift`` per hour
    planted on it (an edge for a trend follower; a mean-reversion rule loses on it)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 0.005, BARS)
    r = np.where((np.arange(BARS) // 72) % 2 == 0, drift, -drift) + noise if drift \
        else noise - noise.mean()
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.concatenate([[100.0], close[:-1]])
    return CandleArrays.from_columns(
        open_time=T0 + np.arange(BARS, dtype=np.int64) * BAR, open=open_,
        high=np.maximum(open_, close) * 1.002, low=np.minimum(open_, close) * 0.998,
        close=close, volume=rng.uniform(50, 150, BARS))


def project(root: Path, series: dict[str, CandleArrays], database: str | None = None
            ) -> Settings:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(CONFIG % ", ".join(series) + (
        f"database: {{url: '{database}'}}\n" if database else ""))
    settings = load_settings(root / "config.yaml", env={})
    store = open_store(settings)
    for symbol, candles in series.items():
        store.candles.write(SeriesKey("binance", symbol, "1h"), candles)
    store.close()
    return settings


def run(settings: Settings) -> Rehearsal:
    store = open_store(settings)
    try:
        return rehearse(settings, store, START, END)
    finally:
        store.close()


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Rehearsal]:
    """Strong trends on XX, weaker ones on YY, a random walk on ZZ."""
    settings = project(tmp_path_factory.mktemp("planted"), {
        "XX/USDT": market(3, 0.002), "YY/USDT": market(4, 0.0012), "ZZ/USDT": market(5, 0.0)})
    return settings, run(settings)


def test_a_planted_edge_graduates_and_gets_the_largest_allocation(
        planted: tuple[Settings, Rehearsal]) -> None:
    settings, r = planted
    planted = next(c.key for c in r.candidates
                   if c.strategy == "ma_cross" and c.symbol == "XX/USDT")
    assert r.stages[planted] == "live"
    # it went through every stage in order, each move allowed and dated
    path = [(t.before, t.after) for t in r.transitions if t.instance == planted]
    assert path == [(Stage.CANDIDATE, Stage.BACKTESTED), (Stage.BACKTESTED, Stage.PAPER),
                    (Stage.PAPER, Stage.LIVE_CANDIDATE), (Stage.LIVE_CANDIDATE, Stage.LIVE)]
    finals = r.final_allocations()
    assert finals[planted] == max(finals.values()) > 0
    weaker = next(c.key for c in r.candidates
                  if c.strategy == "ma_cross" and c.symbol == "YY/USDT")
    assert weaker in r.reached(Stage.LIVE) and 0 < finals[weaker] < finals[planted]
    # nothing on the random walk reaches paper, and no mean-reversion rule either
    for c in r.candidates:
        if c.symbol == "ZZ/USDT" or c.strategy != "ma_cross":
            assert c.key not in r.reached(Stage.PAPER) | r.reached(Stage.LIVE), c.key
    # the bands and the reserve hold at every rebalance
    g = settings.graduation
    bands = {Stage.LIVE_CANDIDATE: g.live_candidate.capital, Stage.LIVE: g.live.capital}
    by_time: dict[int, float] = {}
    for t, a in r.allocations:
        band = bands.get(a.stage)
        if band is not None and a.fraction > 0:
            assert band.min_percent / 100 - 1e-12 <= a.fraction <= band.max_percent / 100 + 1e-12
        by_time[t] = by_time.get(t, 0.0) + a.fraction
    assert max(by_time.values()) <= 1 - g.cash_reserve_percent / 100 + 1e-12
    # the account earned what its live allocations earned
    assert r.account()["total_return"] > 0
    # every transition is a row with its criteria; the report says the same
    store = open_store(settings)
    rows = GraduationRecords(store.engine, r.pipeline).transitions()
    status = {s.instance: s for s in GraduationRecords(store.engine, r.pipeline).status()}
    store.close()
    assert len(rows) == len(r.transitions)
    assert all(row["to"] in {s.value for s in MOVES[Stage(row["from"])]} for row in rows)
    assert status[planted].stage == "live" and status[planted].fraction == finals[planted]
    planted_rows = [row for row in rows if row["instance"] == planted]
    assert planted_rows[2]["criteria"]["trades"]["value"] >= 15
    assert r.report_path is not None
    report = json.loads(r.report_path.read_text())
    assert report["stages"]["live"] == sum(v == "live" for v in r.stages.values()) >= 1
    assert report["account"]["total_return"] == pytest.approx(r.account()["total_return"])


def test_the_pipeline_view_shows_the_funnel_criteria_and_allocations(
        planted: tuple[Settings, Rehearsal], monkeypatch: pytest.MonkeyPatch) -> None:
    settings, r = planted
    monkeypatch.setenv("TRADELOOP_CONFIG", str(settings.base_dir / "config.yaml"))
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    app.sidebar.radio(key="view").set_value("Pipeline")
    app.run()
    assert not app.exception, app.exception
    assert app.selectbox(key="pipeline_name").value == r.pipeline
    figs = charts(app)
    funnel = figs["Graduation funnel (instances that ever reached each stage)"]["data"][0]
    reached = [len(r.candidates), *(len(r.reached(s)) for s in
                                    (Stage.BACKTESTED, Stage.PAPER, Stage.LIVE_CANDIDATE,
                                     Stage.LIVE))]
    assert values(funnel, "x") == reached
    alloc = figs["Allocation over time (share of the account)"]["data"]
    finals = r.final_allocations()
    assert {t["name"] for t in alloc} == {a.instance for _, a in r.allocations}
    for t in alloc:
        assert values(t, "y")[-1] == pytest.approx(finals[t["name"]])
    table = table_with(app, "time in stage")
    assert len(table) == len(r.stages)
    live = table[table["stage"] == "live"]
    assert len(live) == sum(v == "live" for v in r.stages.values())
    assert live["probabilistic_sharpe"].str.startswith("✓").all()
    moves = table_with(app, "move")
    assert len(moves) == len(r.transitions)


def table_with(app: AppTest, column: str) -> pd.DataFrame:
    return next(el.value for el in app.dataframe if column in el.value.columns)


def test_on_a_random_walk_nothing_reaches_live(tmp_path: Path, db_url: str) -> None:
    """On SQLite and on PostgreSQL (the pipeline's records, the rehearsal's backtests)."""
    database = None if db_url.startswith("sqlite") else db_url
    settings = project(tmp_path, {"XX/USDT": market(11, 0.0), "YY/USDT": market(12, 0.0)},
                       database)
    r = run(settings)
    assert r.backtests >= len(r.candidates)  # every candidate judged, re-tests counted
    assert not r.reached(Stage.LIVE) and not r.reached(Stage.LIVE_CANDIDATE)
    assert r.account()["total_return"] == 0.0


def test_optimised_variants_join_as_candidates_and_their_trials_count(tmp_path: Path) -> None:
    settings = project(tmp_path, {"XX/USDT": market(3, 0.002)})
    data = settings.model_dump()
    data["graduation"].update(strategies=["ma_cross"], optimise_trials=8, optimise_days=200)
    settings = settings.rebuilt(data)
    r = run(settings)
    assert len(r.studies) == 3  # at the start, after 200 and after 400 days
    variants = [c for c in r.candidates if c.source != "catalogue"]
    assert variants and all(c.source in r.studies for c in variants)
    assert len({c.key for c in r.candidates}) == len(r.candidates)  # de-duplicated
    # every trial of every study counts as a backtest judged, beside the pipeline's own
    assert r.backtests >= 3 * 8 + len(r.candidates)
    assert all(c.key in r.stages for c in variants)


def test_the_cli_rehearses_and_shows_the_status(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    settings = project(tmp_path, {"XX/USDT": market(3, 0.002)})
    cfg = str(tmp_path / "config.yaml")
    assert cli(["--config", cfg, "graduation", "--replay", "--from", "2024-05-10",
                "--to", "2025-07-04"]) == 0
    out = capsys.readouterr().out
    assert "ma_cross" in out and "live" in out and "graduation_" in out
    assert cli(["--config", cfg, "strategy", "status"]) == 0
    out = capsys.readouterr().out
    assert "ma_cross" in out and "live" in out and "paper -> live_candidate" in out
    reports = list((settings.path(settings.paths.reports_dir)).glob("graduation_*.json"))
    assert len(reports) == 1
