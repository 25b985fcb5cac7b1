import { describe, expect, it } from 'vitest';
import { runTool, startProcess, waitFor } from '../src/index.js';

describe('startProcess', () => {
  it('keeps the output, passes the environment and stops the process', async () => {
    const p = startProcess(process.execPath, ['-e', 'console.log(process.env.GREETING); setInterval(() => {}, 1000)'], { name: 'greeter', env: { GREETING: 'hello' } });
    expect(p.name).toBe('greeter');
    await waitFor('the greeting', () => p.output().includes('hello'), 10_000, 20);
    await p.stop();
    expect(p.child.signalCode).toBe('SIGTERM');
    await p.stop(); // a second stop is a no-op
  });

  it('a missing binary shows up in the output, and stop() returns', async () => {
    const p = startProcess('/nonexistent/binary', []);
    await waitFor('the spawn error', () => p.output().includes('spawn error'), 10_000, 20);
    await p.stop();
  });
});

describe('runTool', () => {
  it('returns the exit status and stdout followed by stderr', () => {
    const r = runTool(process.execPath, ['-e', 'process.stdout.write("out "); process.stderr.write("err"); process.exit(3)']);
    expect(r).toEqual({ status: 3, output: 'out err' });
  });
});
