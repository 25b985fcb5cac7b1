/**
 * Log lines in each format the platform writes, as the container wrote them (after the agent's CRI
 * stage): the error lines every error query of the Logs dashboard must count, and lower-level lines
 * that merely contain "error", which none may count. Shared by the LogQL check (test/logql.test.ts,
 * no Loki) and the LogsQL test on a real VictoriaLogs (test/logsql.victorialogs.test.ts).
 */
/** What this platform logs, after the agent's CRI stage (libs/logging): the line as the container wrote it. */
export const ERRORS: ReadonlyArray<[string, string]> = [
  ['metrics sidecar (pino JSON)', '{"level":"error","time":"2025-01-01T10:00:00.000Z","service":"metrics-sidecar","msg":"probe failed"}'],
  ['metrics sidecar fatal', '{"level":"fatal","time":"2025-01-01T10:00:00.000Z","service":"metrics-sidecar","msg":"cannot listen"}'],
  ['Loki / Alloy / Promtail (logfmt)', 'level=error ts=2025-01-01T10:00:00Z caller=flush.go:1 msg="failed to flush" err="context deadline exceeded"'],
  ['Prometheus 3 (slog logfmt)', 'time=2025-01-01T10:00:00Z level=ERROR source=manager.go:1 msg="Error loading config" component=rules'],
  ['CloudNativePG instance manager', '{"level":"error","ts":"2025-01-01T10:00:00Z","logger":"instance-manager","msg":"Error while reconciling"}'],
  ['PostgreSQL via CloudNativePG', '{"level":"info","ts":"2025-01-01T10:00:00Z","logger":"postgres","msg":"record","record":{"error_severity":"ERROR","message":"duplicate key value violates unique constraint"}}'],
  ['gunicorn', '[2025-01-01 10:00:00 +0000] [7] [ERROR] Worker (pid:9) exited with code 1'],
  ['Django (Python logging, default format)', 'ERROR:django.request:Internal Server Error: /api/orders/1/'],
  ['Python logging (levelname first)', 'CRITICAL 2025-01-01 10:00:00,000 payments Settlement stopped'],
];
/** Lines at a lower level whose message merely contains "error": the old `|~ "(?i)(error|…)"` filter counted every one. */
export const NOT_ERRORS: ReadonlyArray<[string, string]> = [
  ['sidecar info mentioning an error', '{"level":"info","time":"2025-01-01T10:00:00.000Z","service":"metrics-sidecar","msg":"retrying after upstream error"}'],
  ['JSON info whose message starts with a level word', '{"level":"info","time":"2025-01-01T10:00:00.000Z","service":"metrics-sidecar","msg":"ERROR relayed from upstream, handled"}'],
  ['sidecar warn with an error field', '{"level":"warn","time":"2025-01-01T10:00:00.000Z","msg":"slow probe","err":"Error: timeout"}'],
  ['logfmt info whose message says level=error', 'level=info ts=2025-01-01T10:00:00Z msg="client sent level=error lines" errors=0'],
  ['Prometheus info', 'time=2025-01-01T10:00:00Z level=INFO source=main.go:1 msg="TSDB started" errors=0'],
  ['PostgreSQL LOG record', '{"level":"info","ts":"2025-01-01T10:00:00Z","logger":"postgres","msg":"record","record":{"error_severity":"LOG","message":"checkpoint complete: 0 errors"}}'],
  ['gunicorn info', '[2025-01-01 10:00:00 +0000] [7] [INFO] Booting worker; error log to stderr'],
  ['Django info', 'INFO:django.server:"GET /api/errors/ HTTP/1.1" 200 12'],
  ['plain message', 'Internal Server Error page rendered for /api/orders/1/ (test fixture)'],
  ['access log of an error route', '10.0.0.1 - - "GET /api/orders/?status=error HTTP/1.1" 200 512'],
];
