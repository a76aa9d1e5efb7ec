#!/usr/bin/env bash
# The README's test command (make test) runs this: lint, then the whole pytest suite with a
# throw-away PostgreSQL server so the storage tests run against SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MLFLOW_DISABLE_TELEMETRY=true PYTHONHASHSEED=0

.venv/bin/ruff check src tests benchmarks *.py
.venv/bin/mypy

pgdir=$(mktemp -d /tmp/tradeloop-pg.XXXXXX)
trap 'scripts/pg_throwaway.sh stop "$pgdir"' EXIT
eval "$(scripts/pg_throwaway.sh start "$pgdir")"
export TRADELOOP_REQUIRE_POSTGRES=1

.venv/bin/python -m pytest -p no:cacheprovider "$@"
