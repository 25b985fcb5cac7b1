#!/usr/bin/env bash
# Prints the path of ruff (the Python linter and formatter, from PyPI) at the pinned version,
# installing it first when it is not cached yet: a venv under
# ${BITPIN_CACHE:-~/.cache/bitpin}/ruff/<version>/. Idempotent; a cached run only checks the
# binary's version. Needs python3 with venv/ensurepip (Debian: python3-venv, installed by
# tools/scripts/install-system.sh). A development tool: not shipped in the scripts ConfigMap.
set -euo pipefail

RUFF_VERSION=0.17.6
root="${BITPIN_CACHE:-$HOME/.cache/bitpin}/ruff/${RUFF_VERSION}"
ruff="$root/venv/bin/ruff"

cached() { [[ -x "$ruff" && "$("$ruff" --version 2>/dev/null || true)" == "ruff ${RUFF_VERSION}" ]]; }

if ! cached; then
  mkdir -p "$root"
  exec 8>"$root/.lock" # two runs at once (another checkout, another agent) install it once
  flock 8
  if ! cached; then
    echo "install-ruff: installing ruff ${RUFF_VERSION} into $root/venv" >&2
    tmp="$root/venv.tmp.$$"
    rm -rf "$tmp" "$root/venv"
    trap 'rm -rf "$tmp"' EXIT
    python3 -m venv "$tmp" >&2
    "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "ruff==${RUFF_VERSION}" >&2
    # The ruff binary is self-contained, so the finished venv can move into place whole.
    mv -T "$tmp" "$root/venv"
    trap - EXIT
    cached || { echo "install-ruff: $ruff does not report ruff ${RUFF_VERSION}" >&2; exit 1; }
  fi
fi
echo "$ruff"
