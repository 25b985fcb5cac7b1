/**
 * `node dashboards/dist/generate.js [--env <name>] [--out <dir>]`: writes the dashboards and rule
 * files of one env (default dev) into <dir>/dashboards and <dir>/rules (default: this project's
 * dist/). Run it through Nx: `npx nx run dashboards:generate` (add `--env=prod`).
 */
import { ConfigError, ENV_NAMES, loadEnvConfig } from '@bitpin/config';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeGenerated } from './generate-files.js';

const here = dirname(fileURLToPath(import.meta.url));

async function main(argv: string[]): Promise<number> {
  let values: { env?: string; out?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { env: { type: 'string' }, out: { type: 'string' } }, strict: true }));
  } catch (e) {
    process.stderr.write(`generate: ${(e as Error).message}; usage: generate [--env ${ENV_NAMES.join('|')}] [--out <dir>]\n`);
    return 2;
  }
  const outDir = resolve(values.out ?? here);
  try {
    const env = loadEnvConfig(values.env ?? 'dev');
    const { files } = await writeGenerated(env, outDir);
    process.stdout.write(`generate: env ${env.name}: ${files.length} files in ${relative(process.cwd(), outDir) || '.'}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
