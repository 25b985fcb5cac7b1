#!/usr/bin/env bash
# The backup project's Python lint (Nx target backup:lint-py, run before backup:lint): ruff check
# and ruff format --check, with the settings of libs/backup/ruff.toml, over the Python programs
# the scripts run (scripts/*.py) and their unit tests (test/python/*.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ruff=$(bash scripts/dev/install-ruff.sh)
"$ruff" --version
"$ruff" check --no-cache scripts test/python
"$ruff" format --no-cache --check --diff scripts test/python
