"""Done-when of the foundation: every file of ../shared/data imports, and `data status` agrees
with the provenance table in SOURCES.md (an independent count of rows and gaps)."""

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tradeloop.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROW = re.compile(
    r"^\| `(?P<file>binance_\w+_USDT_(?P<tf>1h|4h|1d)\.csv)` \| (?P<symbol>\w+/USDT) \| \w+ \| "
    r"(?P<first>[\dT:-]+)Z \| (?P<last>[\dT:-]+)Z \| (?P<rows>[\d,]+) \| "
    r"(?P<gaps>\d+) / (?P<missing>\d+) / \d+ \|"
)


def test_every_shared_file_imports_and_status_matches_sources(
    shared_data: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(project / "config.yaml")
    files = [p for p in shared_data.rglob("*") if p.name.endswith((".csv", ".csv.gz"))]
    assert main(["--config", cfg, "data", "import", str(shared_data)]) == 0
    out = capsys.readouterr().out
    assert f"imported {len(files)}/{len(files)} files" in out
    assert "✗ rejected" not in out and " 0 rejected" in out

    assert main(["--config", cfg, "data", "status"]) == 0
    status = capsys.readouterr().out
    assert "30 series" in status

    expected = [m.groupdict() for line in (shared_data / "SOURCES.md").read_text().splitlines()
                if (m := ROW.match(line))]
    assert len(expected) == 18  # 6 symbols x (1h, 4h, 1d): no extra files for these
    for e in expected:
        first, last = e["first"].replace("T", " ")[:16], e["last"].replace("T", " ")[:16]
        line = (f"│ binance  │ {e['symbol']} │ {e['tf']:<9} │ {first} │ {last} │ "
                f"{e['rows']:>7} │ {e['gaps']:>4} │ {int(e['missing']):>9,} │")
        assert line in status, f"{e['file']}: expected {line}"

    with sqlite3.connect(project / "data" / "trading.db") as conn:  # the guide's own query
        counts = dict(conn.execute("SELECT symbol, COUNT(*) FROM candles GROUP BY symbol"))
    assert set(counts) == {"ADA/USDT", "BNB/USDT", "BTC/USDT", "ETH/USDT", "SOL/USDT",
                           "XRP/USDT"}
    assert sum(counts.values()) == int(re.search(r"([\d,]+) candles", status)[1].replace(",", ""))

    # Importing everything again changes nothing.
    assert main(["--config", cfg, "data", "import", str(shared_data / "binance_BTC_USDT_1h.csv")
                 ]) == 0
    assert "0 new or changed" in capsys.readouterr().out


def test_synthetic_market_from_the_cli(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(project / "config.yaml")
    assert main(["--config", cfg, "data", "synth", "--symbol", "SYN/USDT", "--days", "3"]) == 0
    out = capsys.readouterr().out
    assert "synthetic SYN/USDT 1m: 4,320 candles" in out
    assert "synthetic SYN/USDT 1d: 3 candles" in out
    assert main(["--config", cfg, "data", "status", "--symbol", "SYN/USDT"]) == 0
    assert "6 series" in capsys.readouterr().out


def test_cli_errors_are_one_clear_line_without_traceback(project: Path) -> None:
    bad = project / "bad.yaml"
    bad.write_text("continuous_learning:\n  confidence:\n    trading_threshold: 2\n")
    proc = subprocess.run([sys.executable, "-m", "tradeloop.cli", "config", "validate", str(bad)],
                          capture_output=True, text=True, check=False, cwd=project)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        f"error: invalid configuration in {bad}: continuous_learning.confidence."
        "trading_threshold: Input should be less than or equal to 1 (got 2)")
    ok = subprocess.run([sys.executable, "-m", "tradeloop.cli", "config", "validate"],
                        capture_output=True, text=True, check=False, cwd=project)
    assert ok.returncode == 0 and "is valid" in ok.stdout
