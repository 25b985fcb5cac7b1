import { ConfigError, ENV_NAMES } from '@bitpin/config';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ExitCode } from './exit-codes.js';
import { parseImageOverrides, summarize, synthesize, writeSynthOutput, type SynthSummary } from './synth.js';

const USAGE = `Usage: deployer <command> --env=<name> [options]

Commands:
  synth      Render every manifest for an env to YAML, one file per library

Options:
  --env <name>          Environment: ${ENV_NAMES.join(' | ')} (required)
  --out <dir>           Output directory (default: dist/manifests/<env>)
  --image <key=ref>     Override a catalog image, e.g. app=repo/app@sha256:<digest> (repeatable)
  --output <text|json>  Output format (default: text)
  -h, --help            Show this help

Exit codes: 0 ok, 1 failure, 2 bad input (nothing changed).
Through Nx: npx nx run deployer:synth --env=dev`;

const OPTIONS = {
  env: { type: 'string' },
  out: { type: 'string' },
  image: { type: 'string', multiple: true },
  output: { type: 'string', default: 'text' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

export interface Io {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

const processIo: Io = {
  stdout: (l) => process.stdout.write(`${l}\n`),
  stderr: (l) => process.stderr.write(`${l}\n`),
};

class UsageError extends Error {}

/** Runs the CLI and returns its exit code; never calls process.exit (tests call this directly). */
export async function run(argv: readonly string[], io: Io = processIo): Promise<ExitCode> {
  let values: { env?: string; out?: string; image?: string[]; output?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (e) {
    io.stderr(`error: ${(e as Error).message.split('. ')[0]}; run with --help for usage`);
    return ExitCode.Usage;
  }
  if (values.help) {
    io.stdout(USAGE);
    return ExitCode.Ok;
  }
  try {
    const [command, ...rest] = positionals;
    if (!command) throw new UsageError('no command given; expected one of: synth (run with --help for usage)');
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"; run with --help for usage`);
    if (values.output !== 'text' && values.output !== 'json') {
      throw new UsageError(`--output "${values.output}" is not supported; use text or json`);
    }
    if (!values.env) throw new UsageError(`--env is required; known envs: ${ENV_NAMES.join(', ')}`);
    switch (command) {
      case 'synth':
        return await synthCommand({ env: values.env, out: values.out, images: values.image ?? [], json: values.output === 'json' }, io);
      default:
        throw new UsageError(`unknown command "${command}"; expected one of: synth`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`error: ${e.message}`);
      return ExitCode.Usage;
    }
    if (e instanceof ConfigError) {
      for (const line of e.lines) io.stderr(`error: ${line}`);
      return ExitCode.Usage;
    }
    io.stderr(`error: ${(e as Error).message}`);
    return ExitCode.Failure;
  }
}

async function synthCommand(
  opts: { env: string; out: string | undefined; images: string[]; json: boolean },
  io: Io,
): Promise<ExitCode> {
  const result = synthesize(opts.env, { images: parseImageOverrides(opts.images) });
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
