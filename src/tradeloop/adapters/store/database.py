"""Database lifecycle: engine with SQLite WAL pragmas, Alembic migrations, checks and backups."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from tradeloop.adapters.store.schema import Base
from tradeloop.domain.errors import StorageError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_CACHE_KIB = -16_384  # 16 MiB page cache per connection (negative = KiB)
SQLITE_BULK_CACHE_KIB = -65_536  # 64 MiB while a bulk candle write runs


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database url>"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute(f"PRAGMA cache_size={SQLITE_CACHE_KIB}")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL mode."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise StorageError(f"invalid database URL {redact_url(url)!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Apply migrations up to ``revision``; returns (before, after) revisions."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        before = current_revision(engine)
        command.upgrade(_alembic_config(engine), revision)
        after = current_revision(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"database migration failed on {redact_url(str(engine.url))}: "
                           f"{exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}"
                           ) from None
    assert after is not None
    return before, after


@dataclass
class CheckResult:
    """Outcome of ``tradeloop db check``."""

    ok: bool
    backend: str
    revision: str | None
    head: str
    integrity: str
    missing_tables: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        rev = self.revision or "none (empty database)"
        state = "up to date" if self.revision == self.head else f"behind head {self.head}"
        out = [
            f"backend: {self.backend}",
            f"schema version: {rev} ({state})",
            f"integrity: {self.integrity}",
        ]
        if self.missing_tables:
            out.append(f"missing tables: {', '.join(self.missing_tables)}")
        return out


def check(engine: Engine) -> CheckResult:
    """Integrity check (SQLite ``PRAGMA integrity_check``) plus schema version and tables."""
    backend = engine.url.get_backend_name()
    try:
        with engine.connect() as conn:
            if backend == "sqlite":
                rows = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
                fk = list(conn.execute(text("PRAGMA foreign_key_check")))
                integrity = "ok" if rows == ["ok"] and not fk else "; ".join(rows[:5])
            else:
                conn.execute(text("SELECT 1"))
                integrity = "ok (server reachable)"
        present = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot check {redact_url(str(engine.url))}: {exc}") from None
    missing = sorted(set(Base.metadata.tables) - present)
    revision = current_revision(engine)
    head = head_revision()
    ok = integrity.startswith("ok") and not missing and revision == head
    return CheckResult(ok, backend, revision, head, integrity, missing)


def backup(engine: Engine, target_dir: Path, *, now: datetime | None = None) -> Path:
    """A consistent online backup, safe while other processes write.

    SQLite: the online backup API copies one consistent snapshot, then the copy is
    integrity-checked. PostgreSQL: ``pg_dump`` in custom format.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d_%H%M%S")
    target_dir.mkdir(parents=True, exist_ok=True)
    url = engine.url
    if url.get_backend_name() == "sqlite":
        src_path = url.database
        if not src_path or src_path == ":memory:" or not Path(src_path).exists():
            raise StorageError(f"no SQLite database file to back up at {src_path!r}")
        dest = target_dir / f"trading_backup_{stamp}.db"
        tmp = dest.with_suffix(".db.partial")
        src = sqlite3.connect(src_path, timeout=30)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # one step: a single consistent read snapshot
            result = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
            src.close()
        if result != "ok":
            tmp.unlink(missing_ok=True)
            raise StorageError(f"backup failed its integrity check: {result}")
        tmp.replace(dest)
        return dest
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise StorageError("pg_dump is not installed; install postgresql-client to back up")
    dest = target_dir / f"trading_backup_{stamp}.dump"
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    # pg_dump found on PATH, a list of arguments, no shell
    proc = subprocess.run([pg_dump, "--format=custom", f"--file={dest}", plain],  # noqa: S603
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise StorageError(f"pg_dump failed: {proc.stderr.strip()}")
    return dest
