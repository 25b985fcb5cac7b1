/**
 * A minimal RESP2 client for the tests (no npm Redis client in the workspace): one connection,
 * commands pipelined, replies parsed in order. Error replies resolve as {@link RespError} values,
 * so a test can assert on NOAUTH / OOM without try/catch.
 */
import { connect, type Socket } from 'node:net';

export class RespError {
  constructor(readonly message: string) {}
}
export type Reply = string | number | null | RespError | Reply[];

export class RespClient {
  private buf = Buffer.alloc(0);
  private readonly waiting: Array<(r: Reply) => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const parsed = parse(this.buf, 0);
        if (!parsed) break;
        this.buf = this.buf.subarray(parsed.end);
        this.waiting.shift()?.(parsed.value);
      }
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new RespClient(s)));
      s.once('error', reject);
    });
  }

  /** Sends one command; resolves with its reply. */
  call(...args: (string | number | Buffer)[]): Promise<Reply> {
    return this.pipeline([args])[0] as Promise<Reply>;
  }

  /** Sends every command in one write; resolves with each reply. */
  pipeline(commands: readonly (readonly (string | number | Buffer)[])[]): Promise<Reply>[] {
    const chunks: Buffer[] = [];
    const replies = commands.map((args) => {
      chunks.push(Buffer.from(`*${args.length}\r\n`));
      for (const a of args) {
        const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
        chunks.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
      }
      return new Promise<Reply>((resolve) => this.waiting.push(resolve));
    });
    this.socket.write(Buffer.concat(chunks));
    return replies;
  }

  close(): void {
    this.socket.destroy();
  }
}

function parse(b: Buffer, at: number): { value: Reply; end: number } | undefined {
  const eol = b.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const line = b.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(b[at]!)) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (b.length < next + n + 2) return undefined;
      return { value: b.toString('utf8', next, next + n), end: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: Reply[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = parse(b, pos);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`RESP: unexpected reply type ${JSON.stringify(String.fromCharCode(b[at]!))}`);
  }
}

/** `INFO <section>` as key → value. */
export async function info(client: RespClient, section: string): Promise<Record<string, string>> {
  const text = await client.call('INFO', section);
  if (typeof text !== 'string') throw new Error(`INFO ${section} failed: ${JSON.stringify(text)}`);
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((l) => l.includes(':') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}
