"""The model-age budget in a replayed session: every series' model is refreshed (or
confirmed by a retrain's paired test) before it is older than the budget, oldest first;
the oldest model's age is a health check, in the monitor's report and its terminal line."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fakes import ScriptedPredictor
from tests.support.replay_db import DAY_MS, START_MS, WARMUP_DAYS, InstantRunner, scripted, stock
from tradeloop.adapters.clock import SimClock
from tradeloop.adapters.store.monitor_queries import collect
from tradeloop.adapters.store.schema import HealthCheckRow, RetrainingHistoryRow
from tradeloop.app import notifier_for
from tradeloop.app.feeds import replay_feed
from tradeloop.app.sessions import make_session
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
H = 3_600_000


def test_a_replayed_session_keeps_every_model_within_its_budget(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings, store = stock(tmp_path, days=2)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(cfg.read_text().replace(
        "retraining: {on_loss: true, min_interval_hours: 12}",
        "retraining: {on_loss: false, min_interval_hours: 1, max_model_age_hours: 8}"))
    settings = load_settings(cfg, env={})
    start = START_MS + WARMUP_DAYS * DAY_MS
    end = start + 2 * DAY_MS
    predictor = ScriptedPredictor(scripted)
    predictor.trained = {(s, tf): start - 2 * H for s in ("BTC/USDT", "ETH/USDT")
                         for tf in ("1h", "4h")}  # the champions' data ends 2 h before
    clock = SimClock(start)
    session = make_session(settings, store, ["BTC/USDT", "ETH/USDT"], mode="replay",
                           clock=clock, feed=replay_feed(store, clock, settings, start, end),
                           runner=InstantRunner(),
                           notifier=notifier_for(settings, store.engine, clock),
                           predictor=predictor, phase=1)
    result = session.run(duration_ms=end - start)
    assert result.status == "completed"
    with store.engine.connect() as conn:
        rows = conn.execute(select(RetrainingHistoryRow.symbol, RetrainingHistoryRow.timeframe,
                                   RetrainingHistoryRow.trigger_reason,
                                   RetrainingHistoryRow.triggered_at)
                            .order_by(RetrainingHistoryRow.id)).all()
        checks = conn.execute(select(HealthCheckRow.passed, HealthCheckRow.value)
                              .where(HealthCheckRow.check_name == "model_age")).all()
    assert {r.trigger_reason for r in rows} == {"model_age"}
    # the first refreshes at 6 h of age (75 % of the budget): 4 h into the replay
    first = min(r.triggered_at for r in rows)
    assert first.timestamp() * 1000 == pytest.approx(start + 4 * H, abs=H)
    for series in {(r.symbol, r.timeframe) for r in rows}:
        times = sorted(r.triggered_at.timestamp() * 1000 for r in rows
                       if (r.symbol, r.timeframe) == series)
        gaps = [b - a for a, b in pairwise(times)]
        assert gaps and max(gaps) <= 8 * H  # never older than the budget
    assert len({(r.symbol, r.timeframe) for r in rows}) == 4
    assert checks and all(c.passed for c in checks) and max(c.value for c in checks) <= 8
    view = collect(settings, store.engine, hours=48)
    age = view.data["model_age"]
    assert age is not None and age["budget_hours"] == 8 and not age["over_budget"]
    assert age["oldest"]["hours"] < 8
    store.close()
    from tests.acceptance.test_entry_points import load_entry

    assert load_entry("monitor_production.py")(["--config", str(cfg), "--hours", "48"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "Model age" in x)
    assert "(budget 8 h, all within)" in line
    # the dashboard's Overview shows the oldest model against the budget
    from streamlit.testing.v1 import AppTest

    from tests.acceptance.test_dashboard import ROOT

    mp = pytest.MonkeyPatch()
    mp.setenv("TRADELOOP_CONFIG", str(cfg))
    try:
        app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
        assert not app.exception, app.exception
        shown = {m.label: m.value for m in app.metric}
        assert shown["Model-age budget"] == "8 h" and shown["Over the budget"] == "0"
        assert float(shown["Oldest model"].split()[0]) < 8
    finally:
        mp.undo()
