"""The MLflow tracking-server mode (``mlflow.tracking_uri: http://127.0.0.1:5000``): a real
``mlflow server`` on 127.0.0.1 with a database backend and proxied artifacts, used as the
local store is: runs and registered versions, the champion alias, a job registered once,
and an alias rolled back to the previous version."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradeloop.adapters.registry.mlflow_registry import MlflowRegistry
from tradeloop.app import model_registry
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mlflow = Path(sys.executable).parent / "mlflow"
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "server.log").read_text()[-2000:]) \
                        from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def test_the_registry_works_against_a_tracking_server(server: str, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        f"mlflow: {{tracking_uri: '{server}', artifact_location: 'mlflow-artifacts:/tl'}}\n")
    registry = model_registry(load_settings(tmp_path / "config.yaml", env={}))
    assert isinstance(registry, MlflowRegistry) and registry.tracking_uri == server
    versions = []
    for n in (1, 2):
        model = tmp_path / f"model{n}.npz"
        model.write_bytes(f"weights {n}".encode())
        run_id, version = registry.log_training(
            "BTC/USDT", "1h", model_path=model, params={"n": n},
            history=[{"epoch": 1, "val_loss": 0.9}], metrics={"test_accuracy": 0.5},
            tags={"job_id": f"BTC/USDT|1h|manual|{n}"}, artifacts={"report.json": "{}"})
        versions.append((run_id, version, model))
    assert [v for _, v, _ in versions] == ["1", "2"]
    # a retried job finds its registered version instead of registering another
    again = registry.log_training(
        "BTC/USDT", "1h", model_path=versions[1][2], params={}, history=[], metrics={},
        tags={"job_id": "BTC/USDT|1h|manual|2"}, artifacts={})
    assert again == (versions[1][0], "2")
    registry.set_champion("BTC/USDT", "1h", "2", versions[1][2])
    assert registry.champion_version("BTC/USDT", "1h") == "2"
    ref = registry.champion("BTC/USDT", "1h")
    assert ref is not None and ref.version == "2" and ref.path.read_bytes() == b"weights 2"
    # rollback: the alias back to the previous version, mirrored for serving
    registry.set_champion("BTC/USDT", "1h", "1", versions[0][2])
    assert registry.champion_version("BTC/USDT", "1h") == "1"
    ref = registry.champion("BTC/USDT", "1h")
    assert ref is not None and ref.path.read_bytes() == b"weights 1"
    artifacts = {a.path for a in registry.client.list_artifacts(versions[0][0])}
    assert {"model", "report.json"} <= artifacts  # uploaded through the server
