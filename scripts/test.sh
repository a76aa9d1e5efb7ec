#!/usr/bin/env bash
# The README's test command (make test) runs this: lint (ruff incl. its security rules, mypy),
# then the whole pytest suite (a timeout per test, two workers) with a throw-away PostgreSQL server so the
# storage tests run against SQLite and PostgreSQL, Debian's chromium + chromium-driver for the
# dashboard's browser test (installed if absent) and the real candles of ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MLFLOW_DISABLE_TELEMETRY=true PYTHONHASHSEED=0

.venv/bin/ruff check src tests benchmarks *.py
.venv/bin/mypy

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "test: installing Debian chromium + chromium-driver for the dashboard browser test" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver >&2
fi
export TRADELOOP_REQUIRE_BROWSER=1

pgdir=$(mktemp -d /tmp/tradeloop-pg.XXXXXX)
trap 'scripts/pg_throwaway.sh stop "$pgdir"' EXIT
eval "$(scripts/pg_throwaway.sh start "$pgdir")"
export TRADELOOP_REQUIRE_POSTGRES=1
# the tests on real candles read ../shared/data: fail, never skip, when it is missing
export TRADELOOP_REQUIRE_DATA=1

# two workers (the CI machine's two cores), a test file per worker at a time so module
# fixtures are built once; TEST_WORKERS=0 runs everything in this process
workers=${TEST_WORKERS:-2}
.venv/bin/python -m pytest -p no:cacheprovider -n "$workers" --dist loadfile "$@"
