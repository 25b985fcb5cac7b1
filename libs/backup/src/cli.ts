#!/usr/bin/env node
/**
 * Prints a restore Job as YAML, for `kubectl apply -f -`:
 *
 *   npx nx run backup:restore-job -- --environment=prod --target-time=2026-01-31T14:05:00Z [--load]
 *   node libs/backup/dist/cli.js restore-job --env prod --mode logical
 *
 * Under Nx, put the options after `--` and spell the env flag --environment (`--env` is an
 * option of Nx's run-commands, and Nx drops `--target-*` options given before `--`).
 * Options: --env|--environment (required), --name, --mode pitr|logical, --target-time, --target-lsn,
 * --backup-id, --load, --database, --source auto|local|offsite. Exit 2 with one line on bad input.
 */
import { loadEnvConfig } from '@bitpin/config';
import { PlatformChart } from '@bitpin/k8s';
import { App, Yaml } from 'cdk8s';
import { parseArgs } from 'node:util';
import { Backups } from './backups.js';
import type { RestoreJobProps, RestoreMode, RestoreSource } from './restore-job.js';

export function restoreJobYaml(argv: readonly string[]): string {
  const { positionals, values } = parseArgs({
    // Nx forwards `--target-time` as `--targetTime`: accept both spellings.
    args: argv.map((a) => (a.startsWith('--') ? a.replace(/^--([^=]+)/, (_m, k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`) : a)),
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      environment: { type: 'string' },
      name: { type: 'string' },
      mode: { type: 'string' },
      'target-time': { type: 'string' },
      'target-lsn': { type: 'string' },
      'backup-id': { type: 'string' },
      load: { type: 'boolean' },
      database: { type: 'string' },
      source: { type: 'string' },
    },
  });
  if (positionals[0] !== 'restore-job') throw new Error('usage: cli.js restore-job --env <env> [--target-time <ISO> | --target-lsn <lsn>] [--mode pitr|logical] [--load]');
  const envName = values.env ?? values.environment;
  if (!envName) throw new Error('--env is required (dev, staging or prod)');
  const env = loadEnvConfig(envName);
  const chart = new PlatformChart(new App(), 'restore', { env });
  const props: RestoreJobProps = {
    ...(values.name ? { name: values.name } : {}),
    ...(values.mode ? { mode: values.mode as RestoreMode } : {}),
    ...(values['target-time'] ? { targetTime: values['target-time'] } : {}),
    ...(values['target-lsn'] ? { targetLsn: values['target-lsn'] } : {}),
    ...(values['backup-id'] ? { backupId: values['backup-id'] } : {}),
    ...(values.load !== undefined ? { load: values.load } : {}),
    ...(values.database ? { targetDatabase: values.database } : {}),
    ...(values.source ? { source: values.source as RestoreSource } : {}),
  };
  const job = new Backups(chart, 'Backups').addRestoreJob('Restore', props);
  return Yaml.stringify(job.job.toJson());
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  try {
    process.stdout.write(restoreJobYaml(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`backup: ${(e as Error).message.split('\n')[0]}\n`);
    process.exit(2);
  }
}
