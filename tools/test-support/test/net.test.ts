import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePorts, waitFor } from '../src/index.js';

describe('freePort', () => {
  it('gives a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const srv = createServer();
    await new Promise<void>((ok, fail) => {
      srv.once('error', fail);
      srv.listen(port, '127.0.0.1', ok);
    });
    await new Promise<void>((ok) => srv.close(() => ok()));
  });

  it('freePorts gives distinct ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
  });
});

describe('waitFor', () => {
  it('resolves with the first value that is neither undefined nor false', async () => {
    let n = 0;
    expect(await waitFor('the third poll', () => (++n >= 3 ? `poll ${n}` : undefined), 5_000, 1)).toBe('poll 3');
    let m = 0;
    expect(await waitFor('a boolean check', async () => ++m >= 2, 5_000, 1)).toBe(true);
  });

  it('times out with what it waited for and the last error in the message', async () => {
    let calls = 0;
    const failing = () => {
      calls++;
      throw new Error('connection refused');
    };
    await expect(waitFor('the widget to be ready', failing, 50, 5)).rejects.toThrow(
      /^timed out after 50 ms waiting for the widget to be ready \(last error: Error: connection refused\)$/,
    );
    expect(calls).toBeGreaterThan(1);
    await expect(waitFor('nothing', () => false, 20, 5)).rejects.toThrow('timed out after 20 ms waiting for nothing');
  });
});
