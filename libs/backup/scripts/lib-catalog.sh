# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).

# ---- catalog --------------------------------------------------------------------------------
# info_get FILE KEY: a value from a key=value file.
info_get() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# Good full backups (status=ok), oldest first, one directory per line.
good_backups() {
  local d
  for d in "$BACKUP_DIR"/full/*/; do
    d=${d%/}
    [[ -f "$d/backup.info" && "$(info_get "$d/backup.info" status)" == ok ]] && echo "$d"
  done
  return 0
}
