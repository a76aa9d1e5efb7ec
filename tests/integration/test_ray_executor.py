"""Retraining and optimisation on a local Ray (127.0.0.1, 2 CPUs): the same results as the
process pool, a job whose worker is killed is run once more and registers its model once,
and Ray is not imported by processes that do not use it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.integration.test_optimisation import SPEC, project
from tests.support.ray_jobs import dies_once
from tradeloop.adapters.executors.ray_pool import RayRunner
from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.app import open_store
from tradeloop.app.optimisation import StudySpec, run_study, storage_url
from tradeloop.app.retrain_jobs import retrain_runner
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.retraining import RetrainJob
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
CONFIG = """
exchange: {{name: synthetic}}
symbols: [SYN/USDT]
timeframes: {{intervals: [{{interval: 1h, weight: 1.0}}]}}
continuous_learning:
  retraining: {{max_epochs: 3, patience: 2}}
  executor: {{kind: {kind}, workers: 1}}
model: {{min_samples: 400, max_train_candles: 3000}}
"""


def test_a_killed_worker_is_retried_once_and_its_model_registered_once(tmp_path: Path
                                                                         ) -> None:
    runner = RayRunner(dies_once, (str(tmp_path / "marker"), str(tmp_path / "registry")),
                       wait=True, workers=1)
    try:
        res = runner.run(RetrainJob("SYN/USDT", "1h", "manual", 1_700_000_000_000))
    finally:
        runner.close()
    assert res.error is None and res.version == "1" and res.reason == "retried"
    assert (tmp_path / "marker").exists()  # the first worker died
    runs = (tmp_path / "registry" / "runs.jsonl").read_text().splitlines()
    assert len(runs) == 1 and json.loads(runs[0])["job_id"] == "SYN/USDT|1h|manual|1700000000000"


def test_a_retrain_through_ray_gives_what_the_process_pool_gives(tmp_path: Path) -> None:
    results = {}
    for kind in ("process", "ray"):
        root = tmp_path / kind
        root.mkdir()
        (root / "config.yaml").write_text(CONFIG.format(kind=kind))
        settings = load_settings(root / "config.yaml", env={})
        store = open_store(settings)
        candles, _ = synth_market(200, timeframe="1h", seed=3)
        store.candles.write(SeriesKey("synthetic", "SYN/USDT", "1h"), candles)
        store.close()
        runner = retrain_runner(settings, root / "models", wait=True)
        assert isinstance(runner, RayRunner) == (kind == "ray")
        try:
            results[kind] = runner.run(RetrainJob("SYN/USDT", "1h", "manual",
                                                  int(candles.open_time[-1])))
        finally:
            runner.close()
    a, b = results["process"], results["ray"]
    assert a.error is None and b.error is None, (a.error, b.error)
    assert (a.version, a.promoted, a.reason) == (b.version, b.promoted, b.reason)
    assert a.validation_confidence == b.validation_confidence
    assert a.validation_accuracy == b.validation_accuracy


def test_trials_through_ray_score_as_in_worker_processes(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    settings = project(tmp_path, rng.normal(0.0005, 0.01, 2400))
    spec = StudySpec(**{**SPEC.__dict__, "sampler": "random", "seed": 11})
    import optuna

    by = {}
    for executor in ("process", "ray"):
        report = run_study(settings, spec, 4, jobs=2, name=f"ray-vs-{executor}",
                           executor=executor)
        assert report.trials == 4
        study = optuna.load_study(study_name=report.name, storage=storage_url(settings))
        by[executor] = sorted((json.dumps(t.params, sort_keys=True), t.value, str(t.state))
                              for t in study.trials)
    assert by["process"] == by["ray"]


def test_processes_that_do_not_use_ray_never_import_it() -> None:
    code = ("import sys, tradeloop.app.sessions, tradeloop.app.retrain_jobs, "
            "tradeloop.app.optimisation, tradeloop.cli; print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_starting_ray_keeps_the_sessions_graceful_stop() -> None:
    import signal

    from tradeloop.adapters.executors.ray_pool import RayExecutor

    def graceful(signum: int, frame: object) -> None:
        return None

    before = signal.signal(signal.SIGTERM, graceful)
    try:
        pool = RayExecutor(workers=1)
        try:
            assert signal.getsignal(signal.SIGTERM) is graceful
            assert pool.submit(pow, 2, 10).result(timeout=60) == 1024
        finally:
            pool.shutdown()
    finally:
        signal.signal(signal.SIGTERM, before)
