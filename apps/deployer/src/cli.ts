import { ConfigError, ENV_NAMES, ENVIRONMENTS, parseDuration, SEED_DEFAULTS, type EnvConfig, type ImageKey } from '@bitpin/config';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ExitCode } from './exit-codes.js';
import { DEFAULT_CONCURRENCY } from './pool.js';
import { PreflightError, type KubeObject } from '@bitpin/kube-client';
import { makeReporter, type Reporter } from './reporter.js';
import type { DeployEnv } from './preflight.js';
import type { SynthSummary } from './synth.js';

const COMMANDS = ['synth', 'diff', 'apply', 'status', 'history', 'rollback', 'destroy', 'graph', 'export'] as const;
type Command = (typeof COMMANDS)[number];

const USAGE = `Usage: deployer <command> --env=<name> [options]

Commands:
  synth      Render every manifest for an env to YAML, one file per library
  diff       Show what apply would change (server-side dry run; nothing is written)
  apply      Server-side apply in waves, then wait until everything is ready
  status     Health of every object the env owns in the cluster
  history    The env's revisions in this cluster: number, time, outcome, commit, user, images
  rollback   Apply an earlier revision again (default: the previous deployed one), prune what it lacks, wait
  destroy    Delete every object the env owns (guarded: needs --confirm=<env>)
  graph      Write a Mermaid diagram of namespaces, workloads, services and the flows between them
  export     Write the env's synthesized set as a kustomize tree for Argo CD or Flux (GitOps; no cluster needed)

Options:
  --env <name>              Environment: ${ENV_NAMES.join(' | ')} (required)
  --output <text|json>      Output format (default: text)
  --image <key=ref>         Override a catalog image, e.g. app=repo/app@sha256:<digest> (repeatable)
  --out <dir|file>          synth: output directory (default: dist/manifests/<env>); graph: file (default: stdout);
                            export: output directory, replaced whole (default: dist/gitops/<env>-<format>)
  --format <argocd|flux>    export: an Argo CD Application, or Flux Kustomizations (one per wave) and a GitRepository
  --repo-url <url>          export: the Git repository the export is committed to (required)
  --branch <name>           export: its branch (default: main)
  --path <dir>              export: the export's directory in that repository, e.g. envs/prod (required)
  --secrets omit            export: leave the env's Secrets out (named in the export's README.md); without it a set
                            with Secrets is refused unless the env's features.externalSecrets is on
  --from <dir>              diff/apply/status: use a synth output directory instead of synthesizing
  --kubeconfig <file>       Kubeconfig (default: $KUBECONFIG, then ~/.kube/config; never localhost:8080)
  --context <name>          Kube context (default: the env's own; another one is refused…)
  --allow-context-mismatch  …unless this is given
  --prune                   apply: delete objects that left the set (shown in the plan first)
  --prune-allow <ref>       apply: also prune this protected object, e.g. PersistentVolumeClaim/ns/name (repeatable)
  --force-conflicts         apply: take over fields another field manager owns
  -y, --yes                 apply/rollback: go on without asking (envs with deploy.confirm — staging, prod — ask
                            on a terminal and refuse without one)
  --only <part,...>         apply: only these parts' objects (app, database, cache, backup, monitoring, logging) are
                            applied, waited for and pruned; the rest of the env is left as it is
  --replace <ref>           apply/rollback: delete and re-create this object when the API server refuses its change as
                            immutable, e.g. Deployment/ns/name (repeatable; never PVCs, namespaces, CRDs, or a
                            StatefulSet whose volumeClaimTemplates change)
  --adopt                   apply: make objects that exist outside the env's inventory part of it (refused otherwise)
  --timeout <duration>      apply/rollback: how long to wait for readiness (default: 5m)
  --atomic, --no-atomic     apply: roll back to the previous deployed revision when the rollout is not ready
                            within --timeout (default: the env's deploy.atomic; on in staging and prod)
  --to <revision>           rollback: the revision to go back to (default: the previous deployed one)
  --no-wait                 apply: do not wait for readiness
  --concurrency <n>         Parallel API requests (default: 16)
  --embed <file>            graph: replace the diagram between <!-- graph:<env>:start/end --> markers in <file>
  --confirm <env>           destroy: must repeat the env name
  --include-data            destroy: also delete PersistentVolumeClaims and namespaces
  -h, --help                Show this help

Exit codes: 0 ok; 1 failure (or, for diff, an error); 2 bad input, nothing changed (for diff: changes pending).
Through Nx: npx nx run deployer:<command> --env=<name> [options]`;

const OPTIONS = {
  env: { type: 'string' },
  out: { type: 'string' },
  from: { type: 'string' },
  image: { type: 'string', multiple: true },
  output: { type: 'string', default: 'text' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'allow-context-mismatch': { type: 'boolean' },
  prune: { type: 'boolean' },
  'prune-allow': { type: 'string', multiple: true },
  'force-conflicts': { type: 'boolean' },
  adopt: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  only: { type: 'string' },
  replace: { type: 'string', multiple: true },
  timeout: { type: 'string', default: '5m' },
  wait: { type: 'boolean', default: true },
  'no-wait': { type: 'boolean' },
  atomic: { type: 'boolean' },
  'no-atomic': { type: 'boolean' },
  to: { type: 'string' },
  concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
  confirm: { type: 'string' },
  'include-data': { type: 'boolean' },
  embed: { type: 'string' },
  format: { type: 'string' },
  'repo-url': { type: 'string' },
  branch: { type: 'string' },
  path: { type: 'string' },
  secrets: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

export interface Io {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Live progress line on stderr, and confirmation prompts. @default process.stderr.isTTY (and stdin a TTY) */
  readonly tty?: boolean;
  /** Reads the operator's answer to a question (tests answer here). @default the terminal */
  readonly ask?: (question: string) => Promise<string>;
}

const processIo: Io = {
  stdout: (l) => process.stdout.write(`${l}\n`),
  stderr: (l) => process.stderr.write(`${l}\n`),
};

class UsageError extends Error {}

/** Runs the CLI and returns its exit code; never calls process.exit (tests call this directly). */
export async function run(argv: readonly string[], io: Io = processIo): Promise<ExitCode> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] });
  } catch (e) {
    io.stderr(`error: ${(e as Error).message.split('. ')[0]}; run with --help for usage`);
    return ExitCode.Usage;
  }
  if (values.help) {
    io.stdout(USAGE);
    return ExitCode.Ok;
  }
  const command = positionals[0] as Command | undefined;
  // diff follows terraform's -detailed-exitcode: 0 no changes, 2 changes, 1 any error.
  const usageExit = command === 'diff' ? ExitCode.Failure : ExitCode.Usage;
  const json = values.output === 'json';
  const report = makeReporter({ json, stdout: io.stdout, stderr: io.stderr, tty: io.tty ?? (io === processIo && Boolean(process.stderr.isTTY)) });
  let engine: { client: { close(): Promise<void>; stats: { writes: number; requests: number } } } | undefined;
  try {
    if (!command) throw new UsageError(`no command given; expected one of: ${COMMANDS.join(', ')} (run with --help for usage)`);
    if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}"; expected one of: ${COMMANDS.join(', ')}`);
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"; run with --help for usage`);
    if (values.output !== 'text' && values.output !== 'json') throw new UsageError(`--output "${values.output}" is not supported; use text or json`);
    if (!values.env) throw new UsageError(`--env is required; known envs: ${ENV_NAMES.join(', ')}`);
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency "${values.concurrency}" must be an integer from 1 to 64`);
    const timeoutSec = parseDuration(values.timeout ?? '5m');
    if (timeoutSec === undefined) throw new UsageError(`--timeout "${values.timeout}" is not a duration such as 90s or 5m`);

    if (command === 'export') {
      if (values.from) throw new UsageError('--from does not apply to export: it exports what synth renders for --env');
      const { exportCommand, formatExport } = await import('./export.js');
      const r = await exportCommand({
        env: values.env,
        format: values.format,
        out: values.out,
        repoUrl: values['repo-url'],
        branch: values.branch,
        path: values.path,
        secrets: values.secrets,
        images: await imageOverrides(values.image),
      }).catch((e: unknown) => {
        // Its refusals are PreflightErrors of the copy of @bitpin/kube-client that dist/export.js
        // loads, not the bundle's: by name, as with ConfigError (exit 2, nothing written).
        throw e instanceof Error && e.name === 'PreflightError' ? new UsageError(e.message) : e;
      });
      for (const w of r.warnings) report.warn(w);
      if (json) io.stdout(JSON.stringify({ command, ok: true, ...r }));
      else for (const l of formatExport(r)) io.stdout(l);
      return ExitCode.Ok;
    }
    if (command === 'synth') {
      return await synthCommand({ env: values.env, out: values.out, images: values.image ?? [], json }, io);
    }
    if (command === 'graph') {
      const { platformGraph } = await import('./graph.js');
      const { synthesize } = await import('./synth.js');
      const result = synthesize(values.env, { images: await imageOverrides(values.image) });
      const mermaid = platformGraph(result.objects);
      if (values.embed) {
        const { readFile, writeFile } = await import('node:fs/promises');
        const text = await readFile(values.embed, 'utf8').catch(() => {
          throw new UsageError(`--embed ${values.embed}: cannot read the file`);
        });
        const start = `<!-- graph:${result.env.name}:start -->`;
        const end = `<!-- graph:${result.env.name}:end -->`;
        const a = text.indexOf(start);
        const b = text.indexOf(end);
        if (a === -1 || b < a) throw new UsageError(`--embed ${values.embed}: no ${start} … ${end} markers; add them where the diagram goes`);
        await writeFile(values.embed, `${text.slice(0, a + start.length)}\n\`\`\`mermaid\n${mermaid}\`\`\`\n${text.slice(b)}`);
        io.stdout(`graph ${result.env.name}: updated ${values.embed}`);
      } else if (values.out) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(values.out, `\`\`\`mermaid\n${mermaid}\`\`\`\n`);
        io.stdout(`graph ${result.env.name}: wrote ${values.out}`);
      } else {
        io.stdout(mermaid.trimEnd());
      }
      return ExitCode.Ok;
    }

    // Cluster commands. Build (or read) the desired set first: bad input fails before anything is written.
    const images = await imageOverrides(values.image);
    const cmds = await import('./commands.js');
    let env: DeployEnv;
    let desired: readonly KubeObject[] | undefined;
    const fromHistory = command === 'history' || command === 'rollback';
    if (fromHistory && values.from) throw new UsageError(`--from does not apply to ${command}: it works on the revisions stored in the cluster`);
    const to = values.to === undefined ? undefined : Number(values.to);
    if (to !== undefined && !(Number.isInteger(to) && to > 0)) throw new UsageError(`--to "${values.to}" must be a revision number (see deployer history --env=${values.env})`);
    if (to !== undefined && command !== 'rollback') throw new UsageError('--to goes with rollback');
    if (values.atomic && values['no-atomic']) throw new UsageError('--atomic and --no-atomic contradict each other; give one');
    const { PARTS } = await import('./inventory.js');
    const only = values.only === undefined ? undefined : new Set(values.only.split(',').map((x) => x.trim()).filter(Boolean));
    if (only && command !== 'apply') throw new UsageError('--only goes with apply');
    const unknownPart = only && ([...only].find((x) => !(PARTS as readonly string[]).includes(x)) ?? (only.size ? undefined : '(empty)'));
    if (unknownPart) throw new UsageError(`--only "${values.only}": unknown part "${unknownPart}"; parts: ${PARTS.join(', ')}`);
    const replace = values.replace?.length ? new Set(values.replace) : undefined;
    if (replace && command !== 'apply' && command !== 'rollback') throw new UsageError('--replace goes with apply or rollback');
    const badRef = [...(replace ?? [])].find((r) => !/^[A-Za-z][A-Za-z0-9]*\/[a-z0-9][a-z0-9.-]*(\/[a-z0-9][a-z0-9.-]*)?$/.test(r));
    if (badRef) throw new UsageError(`--replace "${badRef}": name one object as Kind/namespace/name (Kind/name when cluster-scoped), e.g. Deployment/bitpin-task/bitpin-app`);
    if (fromHistory) {
      env = await envForCluster(values.env, images);
      desired = [];
    } else if (values.from) {
      env = await envForCluster(values.env, images);
      cmds.manifestFiles(values.from); // a missing or empty directory fails before any connection
    } else {
      // Synthesis loads every library (cdk8s and its typed API): only when the command needs it.
      const { synthesize } = await import('./synth.js');
      const result = synthesize(values.env, { images });
      env = result.env;
      desired = result.objects;
      for (const w of result.warnings) report.warn(w);
    }
    if (command === 'destroy' && values.confirm !== env.name) {
      throw new UsageError(`destroy deletes every object of env ${env.name}; re-run with --confirm=${env.name}`);
    }
    // With --from, the cluster's reads go out first and the YAML is parsed while they travel
    // (~40 ms each). Not when the embedded control plane would have to be started for it.
    const overlap = Boolean(values.from) && command !== 'destroy' && !(env.kube.embedded && !values.kubeconfig);
    if (values.from && !overlap) desired = await cmds.readManifestDir(values.from);
    const eng = await cmds.connect(
      env,
      {
        ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
        ...(values.context ? { context: values.context } : {}),
        allowContextMismatch: values['allow-context-mismatch'] ?? false,
        concurrency,
        forceConflicts: values['force-conflicts'] ?? false,
      },
      report,
    );
    engine = eng;
    const texts = desired ? undefined : cmds.readManifestTexts(values.from!);
    const reads = command === 'destroy' || fromHistory ? undefined : cmds.startReads(eng, env.name);
    desired ??= await cmds.parseManifestTexts(texts!);
    if (values.from) desired = cmds.asEnvSet(desired, env.name, values.from);
    // Someone to ask: a terminal on both ends (or the caller's own `ask`), and no JSON for a machine.
    const canAsk = !json && (io.ask !== undefined || (io === processIo && Boolean(process.stderr.isTTY) && Boolean(process.stdin.isTTY)));
    const confirm =
      env.deploy.confirm && !values.yes
        ? (await import('./confirm.js')).terminalConfirm({ stdout: io.stdout, tty: canAsk, ask: io.ask ?? (await import('./confirm.js')).askTerminal })
        : undefined;
    switch (command) {
      case 'apply': {
        const r = await cmds.applyCommand(
          eng,
          env,
          desired,
          {
            prune: values.prune ?? false,
            pruneAllow: new Set(values['prune-allow'] ?? []),
            wait: !(values['no-wait'] ?? false) && (values.wait ?? true),
            timeoutMs: timeoutSec * 1000,
            atomic: values['no-atomic'] ? false : (values.atomic ?? env.deploy.atomic),
            adopt: values.adopt ?? false,
            ...(confirm ? { confirm } : {}),
            ...(only ? { only } : {}),
            ...(replace ? { replace } : {}),
            record: {
              description: values.from ? `apply --from ${values.from}` : `apply${values.image?.length ? ` --image ${values.image.join(' --image ')}` : ''}`,
              keep: env.deploy.history,
              user: eng.client.userName,
              ...(only ? { parts: [...only] } : {}),
            },
          },
          report,
          reads,
        );
        if (json) io.stdout(JSON.stringify({ command, ...r }));
        return r.ok ? ExitCode.Ok : ExitCode.Failure;
      }
      case 'history': {
        const { historyCommand } = await import('./release-commands.js');
        const r = await historyCommand(eng.client, env.name, report);
        if (json) io.stdout(JSON.stringify({ command, ...r }));
        return ExitCode.Ok;
      }
      case 'rollback': {
        const r = await cmds.rollbackCommand(eng, env, to, { wait: !(values['no-wait'] ?? false) && (values.wait ?? true), timeoutMs: timeoutSec * 1000, ...(confirm ? { confirm } : {}), ...(replace ? { replace } : {}) }, report);
        if (json) io.stdout(JSON.stringify({ command, ...r }));
        return r.ok ? ExitCode.Ok : ExitCode.Failure;
      }
      case 'diff': {
        const r = await cmds.diffCommand(eng, env, desired, report, reads);
        if (json) io.stdout(JSON.stringify({ command, ...r }));
        return r.changed ? ExitCode.Usage /* 2 = changes pending */ : ExitCode.Ok;
      }
      case 'status': {
        const r = await cmds.statusCommand(eng, env, desired, report, reads);
        if (json) io.stdout(JSON.stringify({ command, ...r }));
        return r.ok ? ExitCode.Ok : ExitCode.Failure;
      }
      case 'destroy': {
        const r = await cmds.destroyCommand(eng, env, values['include-data'] ?? false, report, timeoutSec * 1000);
        if (json) io.stdout(JSON.stringify({ command, env: env.name, ...r }));
        return ExitCode.Ok;
      }
    }
  } catch (e) {
    report.done();
    const { code, lines } = failureOf(e, command, usageExit, (engine?.client.stats.writes ?? 0) > 0);
    for (const l of lines) io.stderr(`error: ${l}`);
    // With --output json, CI gets a document on a failure too (the lines also go to stderr).
    if (json) io.stdout(JSON.stringify({ command: command ?? null, ok: false, exitCode: code, errors: lines, requests: engine?.client.stats.requests ?? 0 }));
    return code;
  } finally {
    await engine?.client.close();
    if (process.env['BITPIN_TRACE'] === '1') process.stderr.write(`trace: @${performance.now().toFixed(0)} ms done (${engine?.client.stats.requests ?? 0} requests)\n`);
  }
  return ExitCode.Ok;
}

/** The exit code and the error lines of a failed command. */
function failureOf(e: unknown, command: Command | undefined, usageExit: ExitCode, wrote: boolean): { code: ExitCode; lines: string[] } {
  if (e instanceof UsageError) return { code: usageExit, lines: [e.message] };
  if (isConfigError(e)) return { code: usageExit, lines: [...e.lines] };
  if (e instanceof PreflightError) {
    const lines = (e as { lines?: readonly string[] }).lines ?? [e.message];
    // "Nothing changed" (2) only holds when no write was sent; after one, re-running converges.
    if (!wrote) return { code: command === 'diff' ? ExitCode.Failure : ExitCode.Usage, lines: [...lines] };
    return { code: ExitCode.Failure, lines: [...lines, 'the apply was interrupted after it had started writing; re-run it to converge'] };
  }
  return { code: ExitCode.Failure, lines: (e as { lines?: string[] }).lines ?? [(e as Error).message] };
}

/** `--image key=ref` pairs, parsed (and checked against the image catalog) only when given. */
async function imageOverrides(pairs: readonly string[] | undefined): Promise<Partial<Record<ImageKey, string>>> {
  if (!pairs?.length) return {};
  const { parseImageOverrides } = await import('./overrides.js');
  return parseImageOverrides(pairs);
}

/**
 * The env a `--from` directory is applied as: its name and cluster, straight from its
 * definition. The objects are already rendered, so the full config (zod: ~30 ms of a run's
 * start) is validated only when something of it is used: `--image` overrides.
 */
async function envForCluster(name: string, images: Partial<Record<ImageKey, string>>): Promise<DeployEnv> {
  const def = ENVIRONMENTS.find((e) => e.name === name);
  const context = def?.overrides.kube?.context;
  if (!def || Object.keys(images).length || typeof context !== 'string' || !context) {
    // Unknown env, --image or a broken kube section: the full check, with its messages.
    const { loadEnvConfig } = await import('./env-config.js');
    const env: EnvConfig = loadEnvConfig(name, Object.keys(images).length ? { overrides: { images }, overridesSource: '--image' } : {});
    return env;
  }
  return { name: def.name, kube: { context, embedded: def.overrides.kube.embedded ?? false }, deploy: { ...SEED_DEFAULTS.deploy, ...def.overrides.deploy } };
}

/**
 * ConfigError, also from the copy of @bitpin/config that synthesis loads: the bundled CLI
 * (dist-cli) carries its own copy of the library, synthesis runs from the tsc output.
 */
function isConfigError(e: unknown): e is ConfigError {
  return e instanceof ConfigError || (e instanceof Error && e.name === 'ConfigError' && Array.isArray((e as { lines?: unknown }).lines));
}

async function synthCommand(opts: { env: string; out: string | undefined; images: string[]; json: boolean }, io: Io): Promise<ExitCode> {
  const { summarize, synthesize, writeSynthOutput } = await import('./synth.js');
  const result = synthesize(opts.env, { images: await imageOverrides(opts.images) });
  const dir = await writeSynthOutput(result, opts.out ?? `dist/manifests/${result.env.name}`);
  const summary = summarize(result);
  if (opts.json) {
    io.stdout(JSON.stringify({ command: 'synth', outDir: dir, ...summary }));
  } else {
    for (const w of summary.warnings) io.stderr(`warning: ${w}`);
    for (const line of formatSummary(summary, dir)) io.stdout(line);
  }
  return ExitCode.Ok;
}

export function formatSummary(s: SynthSummary, dir: string): string[] {
  const lines = [`synth ${s.env}: ${s.objects} objects in ${s.files.length} files → ${dir}`];
  const namespaces = Object.keys(s.byNamespace).sort();
  const width = Math.max(...namespaces.map((n) => (n || '(cluster)').length));
  for (const ns of namespaces) {
    const kinds = Object.entries(s.byNamespace[ns] ?? {})
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    lines.push(`  ${(ns || '(cluster)').padEnd(width)}  ${kinds}`);
  }
  lines.push(`  files: ${s.files.map((f) => `${f.name} (${f.objects})`).join(', ')}`);
  return lines;
}

export type { Reporter };
