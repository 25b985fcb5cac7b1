# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).

# ---- locking and volume ---------------------------------------------------------------------
take_lock() {
  exec 9>"$BACKUP_DIR/.lock"
  if ! flock -w "$BACKUP_LOCK_TIMEOUT" 9; then
    die "another backup run holds $BACKUP_DIR/.lock for more than ${BACKUP_LOCK_TIMEOUT}s"
  fi
}

# Says so when the backup volume is nearly full (the run still succeeds; alerts watch the PVC too).
check_volume() {
  local used total pct
  read -r total used < <(df -P -k "$BACKUP_DIR" | awk 'NR==2 {print $2, $3}')
  [[ -n "$total" && "$total" -gt 0 ]] || return 0
  pct=$(awk -v u="$used" -v t="$total" 'BEGIN { printf "%.1f", 100 * u / t }')
  if awk -v u="$used" -v t="$total" -v r="$BACKUP_VOLUME_WARN_RATIO" 'BEGIN { exit !(u / t >= r) }'; then
    warn "backup volume ${BACKUP_DIR} is ${pct}% full (warning at $(awk -v r="$BACKUP_VOLUME_WARN_RATIO" 'BEGIN { printf "%g", 100 * r }')%): $((used / 1024)) MiB of $((total / 1024)) MiB used; lower retention or grow the PersistentVolumeClaim"
  else
    info "backup volume ${BACKUP_DIR} is ${pct}% full"
  fi
}
