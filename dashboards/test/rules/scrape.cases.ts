import type { EnvConfig } from '@bitpin/config';
import { absentJobs, durationSeconds } from '../../src/index.js';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';
import { expanded } from './expand.js';

/** `sel` → input series labels: `up{job="kubelet", metrics_path="/metrics"}` → { job, metrics_path }. */
function labelsOf(selector: string): Record<string, string> {
  return Object.fromEntries([...selector.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]));
}

/**
 * Every absent-job alert: fires `for` after the last target of its job goes down (or is gone
 * from discovery), and stays quiet while one of two targets is still up (TargetDown's case).
 */
export function scrapeCases(env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  return absentJobs(env).flatMap((j) => {
    const minutes = (durationSeconds(j.for) ?? 0) / 60;
    const base = labelsOf(j.key);
    const target = (i: number, values: string) => series('up', { ...base, ...(j.namespace ? { namespace: j.namespace } : {}), instance: `10.0.0.${i}:9000` }, values);
    const end = minutes + 5;
    return [
      {
        name: `${j.name}: both targets of ${j.job} down, then one gone from discovery`,
        // Target 1 is down from 1m, target 2 disappears (stale) at 2m: no up target from 2m on.
        input_series: [target(1, `1 0x${end + 2}`), target(2, '1 1 stale')],
        alert_rule_test: [
          silent(j.name, `${minutes + 1}m`),
          firing(j.name, `${minutes + 2}m`, expanded(r, j.name, j.severity, {})),
        ],
      },
      {
        name: `${j.name}: one of two ${j.job} targets down stays quiet (TargetDown's job)`,
        input_series: [target(1, `1 0x${end}`), target(2, `1x${end}`)],
        alert_rule_test: [silent(j.name, `${end}m`)],
      },
    ] satisfies PromtoolCase[];
  });
}
