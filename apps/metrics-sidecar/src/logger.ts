import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/**
 * Structured JSON logs on stdout. Synchronous writes: the sidecar logs little (failures, lifecycle,
 * and only with SIDECAR_ACCESS_LOG every request), and nothing is lost when it exits.
 */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'metrics-sidecar' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}

export type { Logger };
