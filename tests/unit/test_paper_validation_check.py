"""The pre-deployment check of seed 002's prerequisite: a passed paper-trading validation
of at least ``deployment.paper_validation_hours`` in ``validation_results/``."""

from __future__ import annotations

import json
from pathlib import Path

from tradeloop.deploy.checks import check_paper_validation
from tradeloop.settings import Settings


def result(folder: Path, name: str, *, passed: bool, hours: float, replayed: bool,
           when: str = "2026-12-01T10:00:00+00:00") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"paper_validation_{name}.json").write_text(json.dumps({
        "kind": "paper_trading_validation", "passed": passed, "duration_hours": hours,
        "replayed": replayed, "verdict": "APPROVED" if passed else "REJECTED",
        "criteria_met": 4 if passed else 2, "criteria_total": 5, "finished_at": when}))


def test_no_validation_says_how_to_run_one(tmp_path: Path) -> None:
    c = check_paper_validation(Settings(base_dir=tmp_path), replayed=False)
    assert not c.passed
    assert "run `python run_paper_trading_validation.py --duration 48`" in c.detail


def test_only_a_passed_long_enough_live_validation_counts_for_a_live_phase(tmp_path: Path
                                                                         ) -> None:
    s = Settings(base_dir=tmp_path)
    folder = tmp_path / "validation_results"
    result(folder, "a", passed=False, hours=48, replayed=False)
    result(folder, "b", passed=True, hours=24, replayed=False)
    result(folder, "c", passed=True, hours=48, replayed=True)
    (folder / "paper_validation_broken.json").write_text("{not json")
    live = check_paper_validation(s, replayed=False)
    assert not live.passed and "3 found, none passed on live data over 48 h" in live.detail
    rehearsed = check_paper_validation(s, replayed=True)
    assert rehearsed.passed and "rehearsed on history" in rehearsed.detail
    result(folder, "d", passed=True, hours=50, replayed=False, when="2026-12-02T10:00:00+00:00")
    ok = check_paper_validation(s, replayed=False)
    assert ok.passed and "APPROVED 4/5 over 50 h on 2026-12-02" in ok.detail
