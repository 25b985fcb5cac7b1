// Bundles the deployer CLI (the tsc output in dist/) into one file, dist-cli/deployer.mjs, so a
// run loads one module instead of ~150 (the deployer, @bitpin/config, zod, js-yaml: about a third
// of an apply's wall time went to Node resolving and compiling them). Run by `nx run
// deployer:bundle` (after build); the bin, the Nx executor and the benches run the bundle.
//
// What only some commands need stays outside, loaded from dist/ and node_modules on demand:
// synthesis and the graph (every library, cdk8s; libs/backup reads its scripts next to its own
// files), the embedded control plane (tools/k8s-testenv) and @kubernetes/client-node (exec/auth
// provider kubeconfigs only). `--from` applies, diffs and status never load them.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const project = fileURLToPath(new URL('..', import.meta.url));
const LAZY_LOCAL = /^\.\/(synth|graph|overrides|env-config|export)\.js$/;

const result = await build({
  absWorkingDir: project,
  entryPoints: { deployer: 'dist/main.js' },
  outdir: 'dist-cli',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Not minified: ~200 KB either way, no measurable start-up difference, readable stack traces.
  minify: false,
  sourcemap: 'linked',
  legalComments: 'linked',
  external: ['@kubernetes/client-node', '@bitpin/k8s-testenv', 'cdk8s', 'cdk8s-plus-*', 'constructs'],
  plugins: [
    {
      name: 'lazy-from-dist',
      setup(b) {
        // dist/cli.js imports ./synth.js, ./graph.js, ./overrides.js (--image),
        // ./env-config.js (the zod-checked config) and ./export.js (synthesis and yaml)
        // dynamically: point them at dist/ from dist-cli/.
        b.onResolve({ filter: LAZY_LOCAL }, (args) => ({ path: `../dist/${args.path.slice(2)}`, external: true }));
      },
    },
    {
      // @bitpin/config is bundled for what the apply path reads (env names and kube contexts,
      // annotations, durations), without its zod schema: the full check runs from dist/
      // (./env-config.js above). The library's modules only declare things, so esbuild may
      // drop the ones nothing here uses.
      name: 'config-without-schema',
      setup(b) {
        b.onResolve({ filter: /.*/ }, async (args) => {
          if (args.pluginData === 'config-without-schema') return undefined;
          const fromConfig = /\/libs\/config\/dist\//.test(args.importer) && args.path.startsWith('.');
          if (args.path !== '@bitpin/config' && !fromConfig) return undefined;
          const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'config-without-schema' });
          return r.errors.length ? { errors: r.errors } : { path: r.path, sideEffects: false };
        });
      },
    },
  ],
  metafile: true,
  logLevel: 'warning',
});

const out = result.metafile.outputs['dist-cli/deployer.mjs'];
const inputs = Object.keys(out.inputs).length;
process.stdout.write(`dist-cli/deployer.mjs: ${(out.bytes / 1024).toFixed(0)} KB from ${inputs} modules\n`);
// zod costs ~30 ms per run to load and build the schema; the apply path must not need it.
const heavy = Object.keys(out.inputs).filter((i) => /node_modules\/(zod|yaml|undici|cdk8s)\//.test(i));
if (heavy.length) process.stdout.write(`warning: the CLI bundle contains ${[...new Set(heavy.map((i) => i.match(/node_modules\/([^/]+)/)[1]))].join(', ')}: something on the apply path imports it statically; import it lazily\n`);
// @kubernetes/client-node costs ~0.85 s of CPU to import: only a kubeconfig with exec plugins or
// auth providers may load it (a dynamic import in @bitpin/kube-client). Its types cost nothing;
// a static import of its code would put it on every run's path.
const eager = out.imports.filter((i) => i.path === '@kubernetes/client-node' && i.kind !== 'dynamic-import');
if (eager.length) throw new Error('the CLI bundle imports @kubernetes/client-node statically; import its types only (import type) or load it with import()');
