import { describe, expect, it } from 'vitest';
import { makeReporter } from '../src/reporter.js';

describe('progress on a non-terminal (CI logs)', () => {
  it('prints a wait that takes 12 s at its start and every 5 s, with what it says then', () => {
    // GIVEN a reporter writing to a log, and a clock the test moves
    const err: string[] = [];
    let t = 0;
    const report = makeReporter({ json: false, tty: false, stdout: () => undefined, stderr: (l) => err.push(l), now: () => t });
    // WHEN a wait reports every second for 12 s
    for (t = 0; t <= 12_000; t += 1_000) report.progress('wait', `3/11 ready after ${t / 1000}s`);
    // THEN three lines, each with its elapsed time
    expect(err).toEqual(['wait: 3/11 ready after 0s', 'wait: 3/11 ready after 5s', 'wait: 3/11 ready after 10s']);
  });

  it('prints every new phase at once, and nothing with --output json', () => {
    const err: string[] = [];
    const report = makeReporter({ json: false, tty: false, stdout: () => undefined, stderr: (l) => err.push(l), now: () => 0 });
    report.progress('apply', 'wave 1/4');
    report.progress('apply', 'wave 2/4');
    report.progress('wait', '0/11 ready after 0s');
    expect(err).toEqual(['apply: wave 1/4', 'wait: 0/11 ready after 0s']);
    const quiet: string[] = [];
    makeReporter({ json: true, tty: false, stdout: (l) => quiet.push(l), stderr: (l) => quiet.push(l) }).progress('wait', 'x');
    expect(quiet).toEqual([]);
  });
});
