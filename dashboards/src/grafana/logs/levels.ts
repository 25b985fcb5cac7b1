/** Log levels counted as errors (Python logging, pino, Go slog/logfmt, zap, gunicorn). */
export const ERROR_LEVELS = ['error', 'err', 'critical', 'crit', 'fatal', 'panic'] as const;
/** PostgreSQL error severities (CloudNativePG logs them as `record.error_severity` of a JSON line with level "info"). */
export const PG_ERROR_SEVERITIES = ['ERROR', 'FATAL', 'PANIC'] as const;
