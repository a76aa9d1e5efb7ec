"""The phased rollout end to end on real candles: phase 1 on replay, phase 2 re-validation,
phase 3 with two symbols, the monitor's report and the guide's SQL."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from tradeloop.adapters.market_data.csv_files import import_file
from tradeloop.app import open_store
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
symbols: [BTC/USDT, ETH/USDT]
timeframes: {intervals: [{interval: 1h, weight: 0.6}, {interval: 4h, weight: 0.4}]}
continuous_learning:
  confidence: {trading_threshold: 0.40, hysteresis: 0.02, min_dwell_minutes: 0}
  retraining: {max_epochs: 6, patience: 2, min_interval_hours: 12}
model: {max_train_candles: 3000, min_samples: 500}
deployment:
  duration_hours: 48
  rollout_pause_seconds: 3600
  validation: {min_criteria: 3}
"""
TO = "2024-06-01"


def entry(name: str) -> Callable[[list[str]], int]:
    return runpy.run_path(str(ROOT / name), run_name="entry")["main"]


@pytest.fixture(scope="module")
def project(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rollout")
    (root / "config.yaml").write_text(CONFIG)
    store = open_store(load_settings(root / "config.yaml", env={}))
    for sym in ("BTC_USDT", "ETH_USDT"):
        for tf in ("1h", "4h"):
            import_file(store.candles, shared_data / f"binance_{sym}_{tf}.csv", now_ms=2**62)
    store.close()
    return root


@pytest.fixture(scope="module")
def phase1(project: Path) -> tuple[int, str]:
    deploy = entry("deploy_production.py")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = deploy(["--config", str(project / "config.yaml"), "--phase", "1", "--symbol",
                       "BTC/USDT", "--replay", "--to", TO])
    return code, out.getvalue()


def q(project: Path, sql: str) -> list[tuple[object, ...]]:
    engine = open_store(load_settings(project / "config.yaml", env={})).engine
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()


def test_phase1_on_replay(project: Path, phase1: tuple[int, str]) -> None:
    code, out = phase1
    for line in ("PHASE 1: SINGLE SYMBOL DEPLOYMENT", "Symbol: BTC/USDT", "Duration: 48 hours",
                 "Pre-deployment checks: 5/5 passed", "✓ Subscribed to BTC/USDT @ 4h",
                 "✅ BTC/USDT deployed successfully", "PHASE 1 VALIDATION RESULTS"):
        assert line in out
    (dep_id, status, verdict, met, report, started, ended), = q(
        project, "SELECT id, status, verdict, criteria_met, report_path, started_at, ended_at "
                 "FROM deployments WHERE phase = 1")
    assert status == "completed" and str(ended).startswith("2024-06-01 00:00")
    assert str(started).startswith("2024-05-30 00:00")
    assert f"Criteria Met: {met}/5" in out and f"Verdict: {verdict}" in out
    assert code == (0 if verdict == "APPROVED" else 3)
    doc = json.loads(Path(str(report)).read_text())
    assert doc["validation"]["verdict"] == verdict
    # the report's win rate and P&L are the trades' own
    trades = q(project, f"SELECT outcome, pnl_absolute FROM trade_outcomes "
                        f"WHERE deployment_id = {dep_id}")
    assert trades, "the low test threshold makes the replay trade"
    wins = sum(o == "win" for o, _ in trades)
    crit = {c["name"]: c for c in doc["validation"]["criteria"]}
    assert crit["win_rate"]["value"] == pytest.approx(wins / len(trades))
    assert crit["profitability"]["value"] == pytest.approx(sum(float(p) for _, p in trades))  # type: ignore[arg-type]
    # health checks every 5 simulated minutes, five checks each, with a score
    (rounds, rows, low), = q(project, f"SELECT COUNT(DISTINCT timestamp), COUNT(*), "
                                      f"MIN(health_score) FROM health_checks "
                                      f"WHERE deployment_id = {dep_id}")
    assert rounds >= 48 * 12 and rows == 5 * rounds and 0 <= float(low) <= 100  # type: ignore[arg-type]
    (snaps,), = q(project, f"SELECT COUNT(*) FROM equity_history WHERE deployment_id = {dep_id}")
    assert snaps >= 48 * 60
    log = (project / "logs" / "production_deployment.log").read_text()
    assert "[BTC/USDT @ 1h] Candle closed" in log and (project / "logs" / "error.log").exists()


def test_phase1_on_replay_on_postgresql(shared_data: Path, tmp_path: Path, pg_url: str
                                        ) -> None:
    """The same rehearsal with the whole store on PostgreSQL: candles, the deployment and its
    trades, health checks, snapshots and the report."""
    root = tmp_path / "pg"
    root.mkdir()
    (root / "config.yaml").write_text(CONFIG + f"database: {{url: '{pg_url}'}}\n")
    store = open_store(load_settings(root / "config.yaml", env={}))
    assert store.engine.dialect.name == "postgresql"
    for sym in ("BTC_USDT", "ETH_USDT"):
        for tf in ("1h", "4h"):
            import_file(store.candles, shared_data / f"binance_{sym}_{tf}.csv", now_ms=2**62)
    store.close()
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = entry("deploy_production.py")(["--config", str(root / "config.yaml"), "--phase",
                                               "1", "--symbol", "BTC/USDT", "--replay",
                                               "--to", TO])
    text_out = out.getvalue()
    assert "Pre-deployment checks: 5/5 passed" in text_out
    assert "PHASE 1 VALIDATION RESULTS" in text_out
    (dep_id, status, verdict), = q(root, "SELECT id, status, verdict FROM deployments "
                                         "WHERE phase = 1")
    assert status == "completed" and code == (0 if verdict == "APPROVED" else 3)
    assert q(root, f"SELECT COUNT(*) FROM trade_outcomes WHERE deployment_id = {dep_id}"
             )[0][0] > 0
    (rounds,), = q(root, f"SELECT COUNT(DISTINCT timestamp) FROM health_checks "
                         f"WHERE deployment_id = {dep_id}")
    assert rounds >= 48 * 12  # type: ignore[operator]


def test_phase2_revalidates_from_the_database(project: Path, phase1: tuple[int, str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = entry("deploy_production.py")(["--config", str(project / "config.yaml"),
                                          "--phase", "2"])
    out = capsys.readouterr().out
    (p1_id, p1_verdict), = q(project, "SELECT id, verdict FROM deployments WHERE phase = 1")
    (verdict, notes), = q(project, "SELECT verdict, notes FROM deployments WHERE phase = 2")
    assert verdict == p1_verdict and json.loads(str(notes)) == {"validates": p1_id}
    assert f"PHASE 2: VALIDATING DEPLOYMENT {p1_id} (phase 1)" in out
    assert code == (0 if verdict == "APPROVED" else 3)


def test_guide_sql_after_a_replay_deployment(project: Path, phase1: tuple[int, str]) -> None:
    """The queries of seed 002 ("Database Queries", troubleshooting) as written."""
    assert q(project, "SELECT * FROM trade_outcomes ORDER BY id DESC LIMIT 20")
    retrains = q(project, "SELECT * FROM retraining_history ORDER BY id DESC LIMIT 10")
    assert retrains
    assert q(project, "SELECT * FROM learning_states ORDER BY id DESC LIMIT 5")
    (closed_pnl,), = q(project, "SELECT SUM(pnl) FROM positions WHERE status = 'closed'")
    (trade_pnl,), = q(project, "SELECT SUM(pnl_absolute) FROM trade_outcomes")
    assert float(closed_pnl) == pytest.approx(float(trade_pnl))  # type: ignore[arg-type]
    q(project, "SELECT timestamp, error_type, message FROM error_log "
               "ORDER BY timestamp DESC LIMIT 20")
    worst = q(project, "SELECT symbol, predicted_direction, pnl_absolute, confidence FROM "
                       "trade_outcomes WHERE pnl_absolute < 0 ORDER BY pnl_absolute ASC LIMIT 10")
    assert all(float(r[2]) < 0 and r[1] == "up" for r in worst)  # type: ignore[arg-type]
    reasons = dict(q(project, "SELECT trigger_reason, COUNT(*) FROM retraining_history "
                              "WHERE triggered_at > datetime('now', '-6 hours') "
                              "GROUP BY trigger_reason"))
    assert set(reasons) <= {"initial", "loss_immediate", "drift", "scheduled", "manual"}
    # relative to "now" the replayed 2024 rows are old; at the replay's end they are recent
    (avg, best), = q(project, "SELECT AVG(confidence_score), MAX(confidence_score) FROM "
                              "confidence_history WHERE symbol = 'BTC/USDT' AND "
                              "timestamp > datetime('2024-06-01', '-24 hours')")
    assert 0 < float(avg) <= float(best) <= 1  # type: ignore[arg-type]
    (n, conf), = q(project, "SELECT COUNT(*), AVG(validation_confidence) FROM "
                            "retraining_history WHERE triggered_at > "
                            "datetime('2024-06-01', '-72 hours')")
    assert int(n) >= 2 and 0 < float(conf) < 1  # type: ignore[arg-type]


def test_monitor_report_and_view(project: Path, phase1: tuple[int, str],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monitor = entry("monitor_production.py")
    cfg = str(project / "config.yaml")
    assert monitor(["--config", cfg, "--report", "--hours", "24"]) == 0
    out = capsys.readouterr().out
    path = Path(out.split("Report written: ")[1].split()[0])
    assert path.name.startswith("report_") and path.parent.name == "production_reports"
    doc = json.loads(path.read_text())
    assert set(doc) >= {"system", "symbols", "trades", "retraining", "health", "alerts"}
    assert isinstance(doc["alerts"], list) and list(doc["symbols"]) == ["BTC/USDT"]
    assert doc["window"]["to"].startswith("2024-06-01")  # the deployment's own time
    assert doc["health"]["rounds"] >= 24 * 12
    btc = doc["symbols"]["BTC/USDT"]
    assert btc["trades"] == len(doc["trades"]) and btc["mode"] in ("TRADING", "LEARNING")
    # live calibration: the gate's hourly forecasts of the day whose 4h outcome is known
    gate = doc["calibration"]["gates"]["BTC/USDT"]
    assert 15 <= gate["samples"] <= 30 and 0 <= gate["directional_ece"] <= 1
    assert {"BTC/USDT 1h", "BTC/USDT 4h"} <= set(doc["calibration"]["models"])
    assert monitor(["--config", cfg, "--once", "--symbol", "BTC/USDT"]) == 0
    view = capsys.readouterr().out
    for line in ("📊 SYSTEM STATUS", "Error Rate (1h):", "📈 BTC/USDT", "Time in mode:",
                 "💰 Performance (24h)", "🎯 Recent Activity", "Alerts Sent:",
                 "🎯 LIVE CALIBRATION (forecasts whose 4h outcome is known)", "BTC/USDT gate:"):
        assert line in view


def test_phase3_rolls_out_two_symbols(project: Path, phase1: tuple[int, str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    deploy = entry("deploy_production.py")
    cfg = str(project / "config.yaml")
    code = deploy(["--config", cfg, "--phase", "3", "--replay", "--to", TO])
    out = capsys.readouterr().out
    (p1_verdict,), = q(project, "SELECT verdict FROM deployments WHERE phase = 2")
    assert p1_verdict == "APPROVED", "the test config approves at 3/5 criteria"
    assert "PHASE 3: FULL PRODUCTION ROLLOUT" in out and "Deploying to 2 symbols:" in out
    assert "✓ BTC/USDT already deployed (Phase 1)" in out
    assert "✅ ETH/USDT deployed successfully" in out
    assert "✅ FULL ROLLOUT COMPLETE - 2 symbols active" in out
    (dep_id, symbols, started, verdict), = q(
        project, "SELECT id, symbols, started_at, verdict FROM deployments WHERE phase = 3")
    assert symbols == "BTC/USDT,ETH/USDT" and code == (0 if verdict == "APPROVED" else 3)
    # ETH trades only after its activation pause (one simulated hour)
    first_eth = q(project, f"SELECT MIN(entry_time) FROM trade_outcomes WHERE "
                           f"deployment_id = {dep_id} AND symbol = 'ETH/USDT'")[0][0]
    start = datetime.fromisoformat(str(started))
    if first_eth is not None:
        assert (datetime.fromisoformat(str(first_eth)) - start).total_seconds() >= 3600


def test_paper_trading_validation_is_phase_1s_prerequisite(project: Path,
                                                          phase1: tuple[int, str]) -> None:
    """Seed 002's prerequisite: a 48-hour paper run validated on the five criteria, its
    result in validation_results/, reported by the pre-deployment checks (and required by
    them with deployment.require_paper_validation)."""
    import contextlib
    import io

    cfg = str(project / "config.yaml")
    assert "⚠ No passed paper trading validation in validation_results/" in phase1[1]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = entry("run_paper_trading_validation.py")(
            ["--config", cfg, "--duration", "48", "--replay", "--symbols", "BTC/USDT",
             "--to", "2024-05-20"])
    text_ = out.getvalue()
    for line in ("PAPER TRADING VALIDATION", "Duration: 48 hours",
                 "Pre-deployment checks: 5/5 passed", "PAPER TRADING VALIDATION RESULTS",
                 "Criteria Met:", "Validation result: "):
        assert line in text_
    (path,) = (project / "validation_results").glob("paper_validation_*.json")
    doc = json.loads(path.read_text())
    assert doc["duration_hours"] == 48 and doc["replayed"] is True
    assert doc["symbols"] == ["BTC/USDT"] and doc["criteria_total"] == 5
    assert doc["passed"] == (code == 0) == (doc["verdict"] == "APPROVED")
    (dep,) = q(project, f"SELECT phase, mode, status, verdict FROM deployments WHERE id = "
                        f"{doc['deployment_id']}")
    assert dep == (0, "replay", "completed", doc["verdict"])
    checks = io.StringIO()
    with contextlib.redirect_stdout(checks):
        entry("deploy_production.py")(["--config", cfg, "--check", "--replay", "--to", TO])
    if doc["passed"]:
        assert "✓ Paper trading validation: APPROVED" in checks.getvalue()
    else:
        assert "⚠ No passed paper trading validation" in checks.getvalue()
    # required: a live phase needs one on live data, which a rehearsal is not
    (project / "strict.yaml").write_text(CONFIG.replace(
        "  duration_hours: 48\n", "  duration_hours: 48\n  require_paper_validation: true\n"))
    strict = io.StringIO()
    with contextlib.redirect_stdout(strict):
        assert entry("deploy_production.py")(["--config", str(project / "strict.yaml"),
                                              "--check", "--mode", "paper"]) == 1
    assert "✗ No passed paper trading validation on live data" in strict.getvalue()
