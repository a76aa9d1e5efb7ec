"""The operator dashboard (Streamlit AppTest): every view on a database holding a replayed
deployment, the empty state, the exports, and each control with its confirmation and its
record in the database."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select, text
from streamlit.testing.v1 import AppTest

from tests.support.replay_db import ReplayDb, build
from tradeloop.adapters.instance_lock import InstanceLock
from tradeloop.adapters.store import dashboard_queries as dd
from tradeloop.adapters.store.monitor_queries import collect
from tradeloop.adapters.store.runtime_state import RuntimeState
from tradeloop.adapters.store.schema import (
    CandleDataRow,
    ControlCommandRow,
    DeploymentRow,
    EquityHistoryRow,
    ExchangeMetricsRow,
    OrderRow,
    PredictionRow,
    RetrainingHistoryRow,
    TradeOutcomeRow,
)
from tradeloop.app import open_store
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> ReplayDb:
    return build(tmp_path_factory.mktemp("dash") / "project", days=3)


@pytest.fixture
def fresh(replayed: ReplayDb, tmp_path: Path) -> Path:
    """A copy of the replayed project that a test may change."""
    target = tmp_path / "project"
    shutil.copytree(replayed.root, target)
    return target


def open_app(project: Path, monkeypatch: pytest.MonkeyPatch, view: str = "Overview",
             window: str = "All") -> AppTest:
    monkeypatch.setenv("TRADELOOP_CONFIG", str(project / "config.yaml"))
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not app.exception, app.exception
    app.sidebar.selectbox(key="window").select(window)
    app.sidebar.radio(key="view").set_value(view)
    app.run()
    assert not app.exception, app.exception
    return app


def charts(app: AppTest) -> dict[str, dict[str, Any]]:
    """The plotly figures on the page, by their title."""
    out = {}
    for el in app.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out[spec["layout"]["title"]["text"]] = spec
    return out


def svg_charts(app: AppTest) -> dict[str, str]:
    """The light SVG charts on the page, by their title."""
    out = {}
    for el in app.markdown:
        found = re.search(r'data-testid="svg-chart" data-title="([^"]+)"', el.value)
        if found:
            out[found.group(1)] = el.value
    return out


def values(trace: dict[str, Any], axis: str) -> list[Any]:
    """A trace's x or y values (plotly ships numeric arrays as base64 typed arrays)."""
    raw = trace.get(axis, [])
    if isinstance(raw, dict) and "bdata" in raw:
        return list(np.frombuffer(base64.b64decode(raw["bdata"]), dtype=np.dtype(raw["dtype"])))
    return list(raw)


TABLES = {  # a column that tells each table apart
    "symbols_table": "time in mode", "tf_signals": "age", "models_table": "champion",
    "retraining_table": "mlflow_run_id", "symbol_trades": "exit_reason",
    "activity_feed": "event", "coverage": "gaps", "commands_table": "requested",
    "calibration_table": "directional ECE", "headlines_table": "label",
}


def table(app: AppTest, name: str) -> pd.DataFrame:
    """A dataframe on the page, found by a column only it has."""
    for el in app.dataframe:
        frame = el.value
        if TABLES[name] in frame.columns:
            return frame
    raise AssertionError(f"no {name} on the page")


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def scalar(project: Path, stmt: Any) -> Any:
    from tradeloop.settings import load_settings

    store = open_store(load_settings(project / "config.yaml", env={}))
    try:
        with store.engine.connect() as conn:
            return conn.execute(stmt).scalar_one()
    finally:
        store.close()


def test_overview_shows_the_deployment(replayed: ReplayDb,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(replayed.root, monkeypatch)
    m = metrics(app)
    res = replayed.result
    assert (m["Phase"], m["Status"]) == ("1", "completed")
    assert m["Portfolio value"] == f"${res.engine.broker.equity():,.2f}"
    pnl = res.engine.broker.equity() - replayed.settings.trading.initial_balance
    assert m["P&L"] == f"${pnl:,.2f}".replace("$-", "$-")
    assert m["Health score"].endswith("/100") and m["Error rate (1 h)"] == "0.00%"
    # the first view draws light SVG charts (no chart library in the browser) ...
    light = svg_charts(app)
    assert set(light) == {"Portfolio value and drawdown", "Confidence by symbol"}
    (eq_line, dd_line) = re.findall(r'<polyline data-name="([^"]+)" data-points="(\d+)" '
                                    r'data-last="([^"]+)"', light["Portfolio value and drawdown"])
    assert eq_line[0] == "equity" and int(eq_line[1]) > 100
    assert float(eq_line[2]) == pytest.approx(res.engine.broker.equity(), rel=1e-5)
    assert dd_line[0] == "drawdown %"
    assert re.findall(r'data-name="([^"]+)"', light["Confidence by symbol"]) == \
        ["BTC/USDT", "ETH/USDT"]
    # ... and the same data in plotly on request
    app.toggle(key="interactive").set_value(True).run()
    assert not app.exception, app.exception
    figs = charts(app)
    equity = figs["Portfolio value and drawdown"]["data"][0]
    assert len(values(equity, "x")) > 100
    assert values(equity, "y")[-1] == pytest.approx(res.engine.broker.equity())
    conf = figs["Confidence by symbol"]["data"]
    assert [t["name"] for t in conf] == ["BTC/USDT", "ETH/USDT"]
    assert all(len(values(t, "y")) > 50 for t in conf)
    symbols = table(app, "symbols_table")
    assert list(symbols["symbol"]) == ["BTC/USDT", "ETH/USDT"]
    assert set(symbols["mode"]) <= {"TRADING", "LEARNING"}
    assert symbols["trades"].sum() == len(res.engine.trades)


def test_symbol_view(replayed: ReplayDb, monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(replayed.root, monkeypatch, view="Symbols")
    app.selectbox(key="symbol").select("ETH/USDT").run()
    assert not app.exception
    badge = [md.value for md in app.markdown if "mode-indicator" in md.value]
    assert badge and ("TRADING" in badge[0] or "LEARNING" in badge[0]) and " for " in badge[0]
    figs = charts(app)
    conf = figs["ETH/USDT: the gate's P(up) against the threshold"]
    shapes = conf["layout"]["shapes"]
    assert any(s.get("y0") == pytest.approx(0.54) and s.get("y1") == pytest.approx(0.58)
               for s in shapes)  # the hysteresis band under the 58 % threshold
    assert "ETH/USDT: closed-trade P&L and drawdown ($)" in figs
    signals = table(app, "tf_signals")
    assert list(signals["timeframe"]) == ["1h", "4h"]
    assert set(signals["direction"]) <= {"up", "down", "flat"}
    assert signals["confidence"].between(0, 1).all()
    models = table(app, "models_table")
    assert list(models["timeframe"]) == ["1h", "4h"]
    retrains = table(app, "retraining_table")
    with open_store(replayed.settings).engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(RetrainingHistoryRow)
                         .where(RetrainingHistoryRow.symbol == "ETH/USDT")).scalar_one()
    assert len(retrains) == n > 0
    assert {"reason", "duration_seconds", "validation_confidence", "promoted",
            "mlflow_run_id"} <= set(retrains.columns)
    trades = table(app, "symbol_trades")
    assert (trades["symbol"] == "ETH/USDT").all()
    assert list(trades["exit_time"]) == sorted(trades["exit_time"], reverse=True)
    # live calibration of the symbol's gate and models, with the gate's reliability curve
    calibration = table(app, "calibration_table")
    assert calibration["forecaster"].iloc[0] == "gate"
    assert {"1h", "4h"} <= set(calibration["forecaster"])
    assert (calibration["known outcomes"] > 0).all()
    assert calibration["directional ECE"].between(0, 1).all()
    assert "ETH/USDT: reliability of the gate's P(up) (live)" in figs


def test_activity_feed_is_newest_first_and_filters(replayed: ReplayDb,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(replayed.root, monkeypatch, view="Activity")
    feed = table(app, "activity_feed")
    assert {"signal", "mode", "retrain"} <= set(feed["kind"])
    assert list(feed["time"]) == sorted(feed["time"], reverse=True)
    signal = feed[feed["kind"] == "signal"].iloc[0]["event"]
    assert signal.startswith("Signal: ") and "ml: " in signal
    app.selectbox(key="activity_symbol").select("BTC/USDT").run()
    feed = table(app, "activity_feed")
    assert set(feed["symbol"]) == {"BTC/USDT"}
    app.multiselect(key="activity_kinds").set_value(["mode"]).run()
    assert set(table(app, "activity_feed")["kind"]) == {"mode"}


def test_export_offers_trades_and_report(replayed: ReplayDb,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(replayed.root, monkeypatch, view="Export")
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["Trades (CSV)", "Trades (JSON)", "Report (JSON)"]
    store = open_store(replayed.settings)
    view = collect(replayed.settings, store.engine, hours=24 * 3650)
    closed = dd.trades(store.engine, view.deployment.id if view.deployment else None,
                       view.since, view.now)
    csv = pd.read_csv(io.BytesIO(dd.export_trades(closed, "csv")))
    records = json.loads(dd.export_trades(closed, "json"))
    assert len(csv) == len(records) == len(replayed.result.engine.trades) > 0
    assert csv["pnl"].sum() == pytest.approx(sum(t.pnl for t, _ in replayed.result.engine.trades))
    report = json.loads(dd.export_report(view))
    assert report["system"]["deployment_id"] == replayed.result.deployment_id
    assert len(report["trades"]) == len(records)


def test_empty_state(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(project, monkeypatch)
    assert any("No deployment recorded yet" in i.value for i in app.info)
    assert metrics(app)["Status"] == "none"
    app.sidebar.radio(key="view").set_value("Data").run()
    assert "No candles stored yet" in app.info[0].value
    app.sidebar.radio(key="view").set_value("Symbols").run()
    assert not app.exception


def test_data_view_shows_coverage_and_candles(replayed: ReplayDb,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(replayed.root, monkeypatch, view="Data")
    assert len(table(app, "coverage")) == 4
    app.selectbox(key="series").select("synthetic ETH/USDT 4h").run()
    assert "Last 444 candles of synthetic ETH/USDT 4h" in charts(app)


def confirm(app: AppTest, button: str) -> AppTest:
    app.button(key=button).click().run()
    assert any("Confirm:" in w.value for w in app.warning)
    app.button(key="confirm_yes").click().run()
    assert not app.exception, app.exception
    return app


def commands(project: Path) -> list[tuple[str, str | None, str | None, str, str | None]]:
    from tradeloop.settings import load_settings

    store = open_store(load_settings(project / "config.yaml", env={}))
    with store.engine.connect() as conn:
        rows = conn.execute(select(ControlCommandRow.command, ControlCommandRow.symbol,
                                   ControlCommandRow.argument, ControlCommandRow.status,
                                   ControlCommandRow.requested_by)
                            .order_by(ControlCommandRow.id)).all()
    store.close()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_pause_resume_and_strategy_apply_when_nothing_runs(
        fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(fresh, monkeypatch, view="Controls")
    app.selectbox(key="control_symbol").select("ETH/USDT").run()
    confirm(app, "btn_pause")
    assert any("ETH/USDT paused" in s.value for s in app.success)
    from tradeloop.settings import load_settings

    engine = open_store(load_settings(fresh / "config.yaml", env={})).engine
    assert RuntimeState(engine).paused() == {"ETH/USDT"}
    assert app.button(key="btn_pause").proto.label == "Resume"
    confirm(app, "btn_pause")
    assert RuntimeState(engine).paused() == set()
    app.selectbox(key="strategy_choice").select("breakout").run()
    confirm(app, "btn_strategy")
    assert RuntimeState(engine).strategy("ml") == "breakout"
    assert commands(fresh) == [("pause", "ETH/USDT", None, "done", "dashboard"),
                               ("resume", "ETH/USDT", None, "done", "dashboard"),
                               ("strategy", None, "breakout", "done", "dashboard")]


def test_cancel_does_nothing_and_emergency_stop_needs_a_deployment(
        fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(fresh, monkeypatch, view="Controls")
    app.button(key="btn_wipe").click().run()
    app.button(key="confirm_no").click().run()
    assert not app.warning and commands(fresh) == []
    confirm(app, "btn_emergency")
    assert any("rejected: no deployment is running" in e.value for e in app.error)
    assert commands(fresh) == [("rollback", None, None, "rejected", "dashboard")]


def test_wipe_data_clears_trading_state_and_keeps_candles(
        fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    candles = scalar(fresh, select(func.count()).select_from(CandleDataRow))
    assert scalar(fresh, select(func.count()).select_from(TradeOutcomeRow)) > 0
    app = open_app(fresh, monkeypatch, view="Controls")
    confirm(app, "btn_wipe")
    assert any(s.value.startswith("Wipe Data (command 1): wiped") for s in app.success)
    for wiped in (TradeOutcomeRow, OrderRow, PredictionRow, RetrainingHistoryRow,
                  EquityHistoryRow):
        assert scalar(fresh, select(func.count()).select_from(wiped)) == 0
    assert scalar(fresh, select(func.count()).select_from(CandleDataRow)) == candles
    assert scalar(fresh, select(func.count()).select_from(DeploymentRow)) == 1
    assert commands(fresh)[0][:4] == ("wipe", None, None, "done")
    app.sidebar.radio(key="view").set_value("Overview").run()
    assert not app.exception
    assert table(app, "symbols_table")["trades"].sum() == 0


def test_commands_to_a_running_deployment_wait_for_its_answer(
        fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = InstanceLock(fresh / "data" / "engine.lock")
    lock.acquire(mode="paper", symbols="BTC/USDT,ETH/USDT")
    try:
        app = open_app(fresh, monkeypatch, view="Controls")
        assert any("A deployment is running" in s.value for s in app.success)
        confirm(app, "btn_retrain")
        assert any("waiting for the deployment to answer" in i.value for i in app.info)
        assert commands(fresh) == [("retrain", "BTC/USDT", None, "pending", "dashboard")]
        from tradeloop.settings import load_settings

        engine = open_store(load_settings(fresh / "config.yaml", env={})).engine
        with engine.begin() as conn:  # what the running session's loop does
            conn.execute(text("UPDATE control_commands SET status='done', "
                              "result='retraining BTC/USDT 1h started'"))
        app.sidebar.button(key="refresh").click().run()
        assert any("done — retraining BTC/USDT 1h started" in s.value for s in app.success)
    finally:
        lock.release()


def test_overview_shows_the_exchange_edge_of_a_live_deployment(
        fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(fresh / "config.yaml", env={})
    store = open_store(settings)
    with store.engine.begin() as conn:
        dep, last = conn.execute(text("SELECT id, ended_at FROM deployments")).one()
        for minutes, requests, errors in ((90, 100, 0), (30, 400, 10), (0, 700, 40)):
            conn.execute(insert(ExchangeMetricsRow).values(
                deployment_id=dep, timestamp=pd.Timestamp(last).to_pydatetime()
                - timedelta(minutes=minutes), requests=requests, errors=errors, retries=7,
                requests_last_minute=12, errors_last_minute=1, max_requests_per_minute=80,
                limit_per_minute=600, cache_hit_rate=0.875, ws_uptime=0.5,
                circuit_state="closed"))
    store.close()
    m = metrics(open_app(fresh, monkeypatch))
    assert m["Requests / min"] == "12" and m["Circuit"] == "closed"
    assert m["API errors (1 h)"] == "6.67%"  # (40 - 0) / (700 - 100) over the last hour
    assert (m["Ticker cache hits"], m["Websocket uptime"]) == ("87.5%", "50.0%")


def test_symbol_view_shows_the_news_sentiment_beside_the_price(
        fresh: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    from tradeloop.adapters.store.news_store import NewsStore
    from tradeloop.domain.candles import SeriesKey
    from tradeloop.domain.news import NewsItem, Sentiment

    cfg = fresh / "config.yaml"
    cfg.write_text(cfg.read_text() + "news: {feeds: ['http://127.0.0.1:9/feed.xml'], "
                                     "sentiment: {model: tiny-test}}\n")
    settings = load_settings(cfg, env={})
    store = open_store(settings)
    candles = store.candles.load(SeriesKey(settings.exchange.name, "ETH/USDT", "1h"))
    start = int(candles.open_time[-48])
    news = NewsStore(store.engine)
    news.add([NewsItem("wire", f"u{i}", f"https://n.test/{i}", f"Ether story {i}", "",
                       start + i * 3_600_000, start, ("ETH/USDT",)) for i in range(6)])
    news.score([(nid, Sentiment(0.8, 0.1, 0.1) if nid % 2 else Sentiment(0.1, 0.7, 0.2))
                for nid, _ in news.unscored()], "tiny-test", "r1", start)
    store.close()
    app = open_app(fresh, monkeypatch, view="Symbols")
    app.selectbox(key="symbol").select("ETH/USDT").run()
    assert not app.exception, app.exception
    assert "ETH/USDT: news sentiment (tiny-test) beside the price" in charts(app)
    heads = table(app, "headlines_table")
    assert len(heads) == 6 and heads["title"].iloc[0] == "Ether story 5"  # newest first
    assert set(heads["label"]) == {"positive", "negative"}
    # the terminal monitor's line and the JSON report's section
    from tests.acceptance.test_entry_points import load_entry

    monitor = load_entry("monitor_production.py")
    assert monitor(["--config", str(cfg), "--hours", "10000"]) == 0
    out = capsys.readouterr().out
    assert "📰 News sentiment (tiny-test, last 24h" in out and "[not a model input]" in out
