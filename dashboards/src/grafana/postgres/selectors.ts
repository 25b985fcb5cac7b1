import { JOBS, sel, type Matcher } from '../../promql.js';
import { varMatch } from '../common.js';

export const scope = { job: JOBS.database, namespace: varMatch('namespace'), pod: varMatch('pod') };
/** A CloudNativePG exporter series on this dashboard. */
export const cnpg = (metric: string, extra: Record<string, Matcher> = {}) => sel(metric, { ...scope, ...extra });
export const rate = (series: string) => `rate(${series}[$__rate_interval])`;
