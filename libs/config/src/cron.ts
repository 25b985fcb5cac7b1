/**
 * Validation of the five-field cron expressions Kubernetes CronJobs accept (minute hour
 * day-of-month month day-of-week), with lists, ranges and steps. Macros such as `@daily` are
 * accepted as Kubernetes does. `TZ=` prefixes are refused: the CronJob's `timeZone` field is the
 * supported way to pin a zone.
 */
const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** Returns `undefined` when the expression is valid, else a short reason. */
export function cronProblem(expr: string): string | undefined {
  const trimmed = expr.trim();
  if (MACROS.has(trimmed)) return undefined;
  if (/^(CRON_)?TZ=/.test(trimmed)) return 'a TZ= prefix is not supported; set the timeZone field instead';
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`;
  for (const [i, part] of parts.entries()) {
    const field = FIELDS[i]!;
    for (const item of part.split(',')) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
      if (!m) return `${field.name} field "${part}" is not a number, range, list or step`;
      const [, , lo, hi, step] = m;
      for (const v of [lo, hi]) {
        if (v !== undefined && (Number(v) < field.min || Number(v) > field.max)) {
          return `${field.name} value ${v} is outside ${field.min}-${field.max}`;
        }
      }
      if (lo !== undefined && hi !== undefined && Number(lo) > Number(hi)) {
        return `${field.name} range ${lo}-${hi} is reversed`;
      }
      if (step !== undefined && Number(step) === 0) return `${field.name} step must be at least 1`;
    }
  }
  return undefined;
}
