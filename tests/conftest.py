"""Shared fixtures: real SQLite and PostgreSQL databases, the shared candle data, configs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tradeloop.adapters.store import database
from tradeloop.adapters.store.candle_store import CandleStore

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_URL = os.environ.get("TRADELOOP_TEST_PG_URL")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real Binance candles (never copied into the project)."""
    if not (SHARED_DATA / "README.md").exists():
        if os.environ.get("TRADELOOP_REQUIRE_DATA") == "1":
            pytest.fail(f"real candle data not found at {SHARED_DATA} but the tests that read "
                        f"it are required (TRADELOOP_REQUIRE_DATA=1)")
        pytest.skip(f"real candle data not found at {SHARED_DATA} (the shared/ folder is absent)")
    return SHARED_DATA


def _pg_available() -> str:
    if PG_URL:
        return PG_URL
    if os.environ.get("TRADELOOP_REQUIRE_POSTGRES") == "1":
        pytest.fail("TRADELOOP_TEST_PG_URL is not set but PostgreSQL tests are required")
    pytest.skip("no PostgreSQL server: run the suite with `make test`, which starts one")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the throw-away server, dropped afterwards."""
    base = _pg_available()
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database.normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trading.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[CandleStore]:
    """A migrated store, with and without the columnar read cache."""
    engine = database.make_engine(db_url)
    database.upgrade(engine)
    cache = tmp_path / "cache" if request.param == "cached" else None
    try:
        yield CandleStore(engine, cache)
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[CandleStore]:
    engine = database.make_engine(f"sqlite:///{tmp_path / 'trading.db'}")
    database.upgrade(engine)
    try:
        yield CandleStore(engine)
    finally:
        engine.dispose()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with a config.yaml whose paths all live under it."""
    (tmp_path / "config.yaml").write_text(
        "symbols: [BTC/USDT, ETH/USDT]\n"
        "exchange: {rate_limit_per_minute: 60000, timeout_seconds: 1, max_retries: 4}\n"
    )
    return tmp_path


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and chromium-driver (the test command installs them)."""
    from tests.support.browser import find_chromium

    found = find_chromium()
    if found is None:
        if os.environ.get("TRADELOOP_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium/chromedriver not found but the browser test is required")
        pytest.skip("chromium and chromedriver not installed: run the suite with `make test`, "
                    "which installs them")
    return found
