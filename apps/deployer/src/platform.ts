import { AppChart } from '@bitpin/app';
import type { EnvConfig } from '@bitpin/config';
import { DatabaseChart } from '@bitpin/database';
import { App, type Chart } from 'cdk8s';

/** One library's share of the platform: one chart, one file in the synthesized output. */
export interface PlatformPart {
  /** The output file's base name, e.g. `app` → `app.yaml`. */
  readonly file: string;
  readonly chart: Chart;
}

/**
 * The whole platform for one env, composed from the libraries. Libraries never import each
 * other; anything one needs from another (the backup role the database must create, the
 * dashboards monitoring provisions) is passed here.
 */
export function buildPlatform(env: EnvConfig): { app: App; parts: PlatformPart[] } {
  const app = new App();
  const parts: PlatformPart[] = [
    { file: 'app', chart: new AppChart(app, 'app', { env }) },
    { file: 'database', chart: new DatabaseChart(app, 'database', { env }) },
  ];
  return { app, parts };
}
