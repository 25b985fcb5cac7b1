/**
 * CLI behind scripts/up.sh, scripts/down.sh and the Nx targets:
 *   node tools/k8s-testenv/dist/cli.js up|down [--wipe]|status|crd-paths|versions
 */
import { down, status, up, wipe } from './controlplane.js';
import { cnpgCrdPaths } from './crds.js';
import { VERSIONS } from './versions.js';

const log = (l: string): void => console.log(`k8s-testenv: ${l}`);

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case 'up': {
      const env = await up({ startedBy: 'manual', log });
      if (env.timings) log(`apiserver /readyz after ${env.timings.readyz} ms, fully up after ${env.timings.total} ms`);
      console.log(`export KUBECONFIG=${env.kubeconfigPath}`);
      return 0;
    }
    case 'down':
      if (process.argv.includes('--wipe')) await wipe({ log });
      else await down({ log });
      return 0;
    case 'status': {
      const env = await status();
      if (!env) {
        log('not running');
        return 1;
      }
      console.log(JSON.stringify(env, null, 2));
      return 0;
    }
    case 'crd-paths':
      for (const p of cnpgCrdPaths()) console.log(p);
      return 0;
    case 'versions':
      console.log(JSON.stringify(VERSIONS, null, 2));
      return 0;
    default:
      console.error('usage: cli.js up|down [--wipe]|status|crd-paths|versions');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
