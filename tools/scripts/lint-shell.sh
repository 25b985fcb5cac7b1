#!/usr/bin/env bash
# Runs shellcheck over every shell script of the repository (workspace-checks:lint-shell): each tracked
# or new, not ignored file named *.sh or *.bash, or whose first line is a sh/bash shebang
# (e.g. .ci/run). Settings in /.shellcheckrc (sourced files followed, relative to each script).
# Exits non-zero on any finding. Usage: tools/scripts/lint-shell.sh [--list]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2

command -v shellcheck >/dev/null \
  || { echo "lint-shell: ERROR: shellcheck is not on PATH (Debian package shellcheck; tools/scripts/install-system.sh installs it)" >&2; exit 2; }

files=()
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue # deleted in the working tree
  case "$f" in
    *.sh | *.bash) files+=("$f") ;;
    *)
      first=""
      IFS= read -r first <"$f" || true
      if [[ "$first" =~ ^\#!.*[/[:space:]](ba)?sh([[:space:]]|$) ]]; then files+=("$f"); fi
      ;;
  esac
done < <(git ls-files -z --cached --others --exclude-standard)

if [ "${1:-}" = "--list" ]; then printf '%s\n' "${files[@]}"; exit 0; fi
[ ${#files[@]} -gt 0 ] || { echo "lint-shell: ERROR: no shell scripts found" >&2; exit 2; }
shellcheck "${files[@]}"
echo "lint-shell: ${#files[@]} scripts clean ($(shellcheck --version | sed -n 's/^version: //p'))"
