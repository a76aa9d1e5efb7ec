"""`tradeloop db check|backup|upgrade` on a real SQLite file, including a backup under load."""

import sqlite3
import threading
from pathlib import Path

import pytest

from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.adapters.store import database
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.cli import main
from tradeloop.domain.candles import SeriesKey


def test_upgrade_check_backup(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(project / "config.yaml")
    assert main(["--config", cfg, "db", "check"]) == 1  # empty database: schema not current
    assert "tradeloop db upgrade" in capsys.readouterr().out
    assert main(["--config", cfg, "db", "upgrade"]) == 0
    assert "empty -> 0012" in capsys.readouterr().out
    assert main(["--config", cfg, "db", "check"]) == 0
    out = capsys.readouterr().out
    assert "Database integrity: OK" in out and "up to date" in out
    assert main(["--config", cfg, "db", "backup"]) == 0
    (backup,) = (project / "data" / "backups").glob("trading_backup_*.db")
    assert sqlite3.connect(backup).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_wal_mode(project: Path) -> None:
    engine = database.make_engine(f"sqlite:///{project / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_online_backup_is_consistent_while_a_writer_runs(tmp_path: Path) -> None:
    engine = database.make_engine(f"sqlite:///{tmp_path / 'trading.db'}")
    database.upgrade(engine)
    store = CandleStore(engine)
    candles, _ = synth_market(20, seed=5)
    batches = [candles.take(slice(i, i + 1440)) for i in range(0, len(candles), 1440)]
    key = SeriesKey("binance", "BTC/USDT", "1m")
    store.write(key, batches[0])
    done = threading.Event()

    def writer() -> None:
        for b in batches[1:]:
            store.write(key, b, refresh_gaps=False)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    copies = []
    while not done.is_set() and len(copies) < 5:
        copies.append(database.backup(engine, tmp_path / f"b{len(copies)}"))
    thread.join()
    copies.append(database.backup(engine, tmp_path / "final"))
    for path in copies:
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = conn.execute("SELECT COUNT(*) FROM candles").fetchone()[0]
        assert n % 1440 == 0  # whole transactions only: never half a batch
    assert n == len(candles)
    engine.dispose()
