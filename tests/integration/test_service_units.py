"""The service files of a VPS / scaled-out deployment (``ops/``): each unit is valid for
systemd (``systemd-analyze verify`` where it is installed, with the paths pointed at this
checkout), restarts the trading session on failure with its secrets from an environment
file only, and the log rotation keeps the running session's file handle. That a restarted
session recovers its positions is what ``tests/acceptance/test_kill_recovery.py`` proves
(20 SIGKILLs of a testnet session, nothing lost or duplicated)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
UNITS = sorted((OPS / "systemd").glob("*.service"))


def parse(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    cp.read_string(path.read_text())
    return cp


def test_the_trading_session_restarts_on_failure_with_secrets_from_the_environment() -> None:
    unit = parse(OPS / "systemd" / "tradeloop.service")
    service = unit["Service"]
    assert service["ExecStart"].split()[1:] == ["--config", "/opt/tradeloop/config.yaml",
                                                "run", "--mode", "testnet"]
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
    assert service["EnvironmentFile"] == "/etc/tradeloop/tradeloop.env"
    env = (OPS / "systemd" / "tradeloop.env.example").read_text()
    for name in ("EXCHANGE_API_KEY=", "EXCHANGE_API_SECRET=", "TRADELOOP_DATABASE_URL="):
        assert name in env
    assert not any("KEY=" in v or "SECRET=" in v for v in service.values())
    assert "copytruncate" in (OPS / "logrotate" / "tradeloop").read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed here")
@pytest.mark.parametrize("path", UNITS, ids=[u.stem for u in UNITS])
def test_each_unit_is_valid_for_systemd(path: Path, tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    for tool in ("tradeloop", "mlflow", "ray"):
        assert (bin_dir / tool).exists(), f"{tool} is not installed in {bin_dir}"
    text = path.read_text().replace("/opt/tradeloop/.venv/bin", str(bin_dir)).replace(
        "/opt/tradeloop", str(ROOT)).replace("/etc/tradeloop/tradeloop.env",
                                               str(tmp_path / "tradeloop.env"))
    (tmp_path / "tradeloop.env").write_text((OPS / "systemd" / "tradeloop.env.example")
                                            .read_text())
    unit = tmp_path / path.name
    unit.write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 0, said
    assert "Unknown" not in said and "ignoring" not in said, said
