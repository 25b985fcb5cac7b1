// Nx executor for the deployer CLI. Nx's run-commands executor owns an `env` option, which
// would swallow `--env=prod`; this executor declares the CLI's flags instead and forwards them
// verbatim, running from the workspace root so relative paths mean what the user typed.
'use strict';
// It runs the bundled CLI (dist-cli/deployer.mjs, from the `bundle` target every command depends
// on): one file to load instead of ~150 modules.
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const NX_OPTIONS = new Set(['command', '__unparsed__']);
const BUNDLE = path.join(__dirname, '..', 'dist-cli', 'deployer.mjs');
// The tsc output runs the same CLI, only slower to start (a build without the bundle step).
const UNBUNDLED = path.join(__dirname, '..', 'dist', 'main.js');

module.exports = async function runDeployer(options, context) {
  const args = [existsSync(BUNDLE) ? BUNDLE : UNBUNDLED, options.command];
  for (const [key, value] of Object.entries(options)) {
    if (NX_OPTIONS.has(key) || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      args.push(typeof v === 'boolean' ? (v ? `--${key}` : `--no-${key}`) : `--${key}=${v}`);
    }
  }
  args.push(...(options.__unparsed__ ?? []));
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: context.root, stdio: 'inherit' });
    child.on('error', (e) => {
      process.stderr.write(`error: cannot start the deployer: ${e.message}\n`);
      resolve(1);
    });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  return { success: code === 0 };
};
