#!/usr/bin/env bash
# Rewrite constraints.txt from the current .venv (run after changing pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install -q -e ".[dev]"
{
  echo '# Exact versions for reproducible installs: pip install -c constraints.txt -e ".[dev]"'
  echo '# Regenerate after changing pyproject.toml: make lock'
  .venv/bin/python -m pip freeze --exclude-editable | grep -v '^tradeloop' |
    sed -E 's/^torch==([0-9.]+)\+cpu$/torch==\1/; s/^([A-Za-z0-9_.-]+) @ file:.*\/[A-Za-z0-9_.]+-([0-9][^-]*)-.*$/\1==\2/'
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages"
