#!/usr/bin/env bash
# Create .venv and install tradeloop with the exact versions of constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python=$(command -v "$candidate"); break
  fi
done
if [ -z "$python" ]; then
  echo "bootstrap: Python 3.11 not found; installing it with apt-get" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q && $sudo apt-get install -y -q python3.11 python3.11-venv
  python=$(command -v python3.11)
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q && $sudo apt-get install -y -q python3.11-venv
fi

echo "bootstrap: creating .venv with $python (first use takes a few minutes)"
rm -rf .venv
"$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip setuptools wheel
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
touch .venv/.installed
echo "bootstrap: done"
