# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).
# The off-site copy's rclone remotes (offsite.sh), configured from the environment only. rclone reads RCLONE_CONFIG_<NAME>_<OPTION> variables, so no
# configuration file is written and no secret lands on a disk, in an argument list or in a log:
#   bitpin_s3       type s3:    endpoint, region, keys, path-style (BACKUP_OFFSITE_*)
#   bitpin_offsite  type crypt over bitpin_s3:<bucket>/<prefix>: file contents and names encrypted
#                   on this side (XSalsa20-Poly1305 per 64 KiB block: a changed byte fails the
#                   download), key = BACKUP_OFFSITE_PASSWORD + BACKUP_OFFSITE_SALT
# Settings (the CronJob and the restore Job set them from the env config and a Secret):
#   BACKUP_OFFSITE_ENDPOINT   https://host[:port] of the S3-compatible store               required
#   BACKUP_OFFSITE_BUCKET     bucket                                                        required
#   BACKUP_OFFSITE_PREFIX     path inside the bucket (default: none)
#   BACKUP_OFFSITE_REGION     region (default us-east-1)
#   BACKUP_OFFSITE_PROVIDER   rclone's s3 provider name (default Other)
#   BACKUP_OFFSITE_ACCESS_KEY_ID, BACKUP_OFFSITE_SECRET_ACCESS_KEY      the store's credentials
#   BACKUP_OFFSITE_PASSWORD, BACKUP_OFFSITE_SALT                        the encryption key
#   BACKUP_OFFSITE_KEEP_FULL  full backups kept off-site, with the WAL they need (default 14)
#   BACKUP_OFFSITE_TRANSFERS  parallel uploads/downloads (default 4)

OFFSITE_REMOTE=bitpin_offsite:
BACKUP_OFFSITE_KEEP_FULL=${BACKUP_OFFSITE_KEEP_FULL:-14}
BACKUP_OFFSITE_TRANSFERS=${BACKUP_OFFSITE_TRANSFERS:-4}

offsite_configured() { [[ -n "${BACKUP_OFFSITE_BUCKET:-}" ]]; }

# offsite_setup: checks the settings (one line naming the missing ones) and exports rclone's.
offsite_setup() {
  local v unset_vars=()
  for v in BACKUP_OFFSITE_ENDPOINT BACKUP_OFFSITE_BUCKET BACKUP_OFFSITE_ACCESS_KEY_ID BACKUP_OFFSITE_SECRET_ACCESS_KEY BACKUP_OFFSITE_PASSWORD BACKUP_OFFSITE_SALT; do
    [[ -n "${!v:-}" ]] || unset_vars+=("$v")
  done
  ((${#unset_vars[@]} == 0)) ||
    die "the off-site copy is not configured: ${unset_vars[*]} not set (env config backup.offsite gives the endpoint and bucket; Secret bitpin-backup-offsite the keys: access-key-id, secret-access-key, password, salt)"
  [[ "$BACKUP_OFFSITE_ENDPOINT" =~ ^https?://[^/[:space:]]+/?$ ]] ||
    die "BACKUP_OFFSITE_ENDPOINT must look like https://s3.example.com[:port], got \"${BACKUP_OFFSITE_ENDPOINT}\""
  [[ "$BACKUP_OFFSITE_BUCKET" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] ||
    die "BACKUP_OFFSITE_BUCKET must be an S3 bucket name (3-63 of a-z 0-9 . -), got \"${BACKUP_OFFSITE_BUCKET}\""
  require_number BACKUP_OFFSITE_KEEP_FULL "$BACKUP_OFFSITE_KEEP_FULL"
  [[ "$BACKUP_OFFSITE_KEEP_FULL" -ge 1 ]] || die "BACKUP_OFFSITE_KEEP_FULL must be at least 1, got ${BACKUP_OFFSITE_KEEP_FULL}"
  require_number BACKUP_OFFSITE_TRANSFERS "$BACKUP_OFFSITE_TRANSFERS"
  # In the Pods an init container copies rclone into RCLONE_BIN_DIR (the PostgreSQL image has none).
  [[ -z "${RCLONE_BIN_DIR:-}" ]] || PATH="${RCLONE_BIN_DIR}:${PATH}"
  command -v rclone >/dev/null 2>&1 || die "rclone is not installed (Debian: apt-get install rclone; the backup image must include it)"
  # rclone 1.60's s3 client refuses to start with AWS_CA_BUNDLE set ("unsupported transport"):
  # a private CA for the endpoint goes in RCLONE_CA_CERT instead.
  unset AWS_CA_BUNDLE
  # No configuration file at all (rclone would otherwise look for one in ~/.config).
  export RCLONE_CONFIG=''
  export RCLONE_CONFIG_BITPIN_S3_TYPE=s3
  export RCLONE_CONFIG_BITPIN_S3_PROVIDER=${BACKUP_OFFSITE_PROVIDER:-Other}
  export RCLONE_CONFIG_BITPIN_S3_ENDPOINT=$BACKUP_OFFSITE_ENDPOINT
  export RCLONE_CONFIG_BITPIN_S3_REGION=${BACKUP_OFFSITE_REGION:-us-east-1}
  export RCLONE_CONFIG_BITPIN_S3_FORCE_PATH_STYLE=true
  export RCLONE_CONFIG_BITPIN_S3_ENV_AUTH=false
  export RCLONE_CONFIG_BITPIN_S3_ACCESS_KEY_ID=$BACKUP_OFFSITE_ACCESS_KEY_ID
  export RCLONE_CONFIG_BITPIN_S3_SECRET_ACCESS_KEY=$BACKUP_OFFSITE_SECRET_ACCESS_KEY
  export RCLONE_CONFIG_BITPIN_OFFSITE_TYPE=crypt
  export RCLONE_CONFIG_BITPIN_OFFSITE_REMOTE="bitpin_s3:${BACKUP_OFFSITE_BUCKET}${BACKUP_OFFSITE_PREFIX:+/${BACKUP_OFFSITE_PREFIX#/}}"
  export RCLONE_CONFIG_BITPIN_OFFSITE_FILENAME_ENCRYPTION=standard
  export RCLONE_CONFIG_BITPIN_OFFSITE_DIRECTORY_NAME_ENCRYPTION=true
  # rclone wants the crypt keys "obscured"; they go through its stdin, never an argument. One
  # `rclone obscure` obscures one line, so the two run at once (read back through pipes: the
  # obscured keys touch no disk either).
  local fa fb pw="" salt=""
  exec {fa}< <(printf '%s' "$BACKUP_OFFSITE_PASSWORD" | rclone obscure - 2>/dev/null)
  exec {fb}< <(printf '%s' "$BACKUP_OFFSITE_SALT" | rclone obscure - 2>/dev/null)
  IFS= read -r pw <&"$fa" || true
  IFS= read -r salt <&"$fb" || true
  exec {fa}<&- {fb}<&-
  [[ "$pw" =~ ^[A-Za-z0-9_-]+$ ]] || die "rclone obscure failed for BACKUP_OFFSITE_PASSWORD"
  [[ "$salt" =~ ^[A-Za-z0-9_-]+$ ]] || die "rclone obscure failed for BACKUP_OFFSITE_SALT"
  export RCLONE_CONFIG_BITPIN_OFFSITE_PASSWORD=$pw RCLONE_CONFIG_BITPIN_OFFSITE_PASSWORD2=$salt
  # Quiet, bounded retries inside one run; what still fails is left to the next run.
  export RCLONE_RETRIES=${RCLONE_RETRIES:-2} RCLONE_LOW_LEVEL_RETRIES=${RCLONE_LOW_LEVEL_RETRIES:-3}
  export RCLONE_CONTIMEOUT=${RCLONE_CONTIMEOUT:-10s} RCLONE_TIMEOUT=${RCLONE_TIMEOUT:-60s}
  export RCLONE_STATS_LOG_LEVEL=DEBUG RCLONE_USE_JSON_LOG=false
}

# rc ARGS...: rclone, its messages prefixed so they read as this script's.
rc() { rclone --transfers "$BACKUP_OFFSITE_TRANSFERS" --checkers "$((BACKUP_OFFSITE_TRANSFERS * 2))" "$@" 2> >(sed -u "s/^/  rclone: /" >&2); }

# offsite_list: every file of the off-site copy (decrypted names, relative to its root), sorted;
# returns 1 (after logging why) when the store cannot be listed.
offsite_list() {
  local out
  # A bucket that does not exist yet is an empty copy.
  out=$(rclone lsf -R --files-only --fast-list "$OFFSITE_REMOTE" 2>&1) || {
    if [[ "$out" == *"directory not found"* || "$out" == *"NoSuchBucket"* ]]; then return 0; fi
    log "ERROR cannot list the off-site copy at ${BACKUP_OFFSITE_ENDPOINT} bucket ${BACKUP_OFFSITE_BUCKET}: $(tail -n 1 <<<"$out")"
    return 1
  }
  [[ -z "$out" ]] || sort <<<"$out"
}
