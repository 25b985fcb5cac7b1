/**
 * A real TCP server on 127.0.0.1 that reads HTTP/1.1 requests (head, then a Content-Length or
 * chunked body) and lets a test answer each with hand-written bytes: the responses node:http
 * would refuse to produce (bad framing, split chunk lines, interim responses, early closes).
 */
import net from 'node:net';

export interface RawExchange {
  /** The request's index on its connection (0: the first). */
  readonly index: number;
  /** The request head, as received. */
  readonly head: string;
  /** Writes and resolves once the bytes are handed to the kernel. */
  write(text: string): Promise<void>;
  pause(ms: number): Promise<void>;
  /** Bytes of later requests already received on this connection. */
  buffered(): number;
  peek(): string;
  /** Half-closes (FIN). */
  end(): void;
  /** Resets the connection. */
  destroy(): void;
}

export interface RawUpstream {
  readonly url: string;
  /** TCP connections accepted. */
  readonly connections: number;
  /** Requests read. */
  readonly requests: number;
  /** Connections the client (the sidecar) closed. */
  readonly closedByPeer: number;
  close(): Promise<void>;
}

export async function startRawUpstream(answer: (x: RawExchange) => Promise<void>): Promise<RawUpstream> {
  const sockets = new Set<net.Socket>();
  const state = { url: '', connections: 0, requests: 0, closedByPeer: 0 };
  const server = net.createServer((sock) => {
    state.connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.on('end', () => {
      state.closedByPeer++;
      sock.end();
    });
    let buf = Buffer.alloc(0);
    let index = 0;
    let busy = false;
    let done = false;
    const next = async (): Promise<void> => {
      if (busy || done) return;
      const headEnd = buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = buf.toString('latin1', 0, headEnd);
      let end = headEnd + 4;
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (cl) {
        end += Number(cl[1]);
        if (buf.length < end) return;
      } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        const last = buf.indexOf('0\r\n\r\n', headEnd + 4);
        if (last < 0) return;
        end = last + 5;
      }
      buf = buf.subarray(end);
      busy = true;
      state.requests++;
      const x: RawExchange = {
        index: index++,
        head,
        write: (text) => new Promise((resolve) => (sock.destroyed ? resolve() : sock.write(Buffer.from(text, 'latin1'), () => resolve()))),
        pause: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        buffered: () => buf.length,
        peek: () => buf.toString('latin1'),
        end: () => {
          done = true;
          sock.end();
        },
        destroy: () => {
          done = true;
          sock.destroy();
        },
      };
      await answer(x);
      busy = false;
      await next();
    };
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      void next();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    get url() {
      return state.url;
    },
    get connections() {
      return state.connections;
    },
    get requests() {
      return state.requests;
    },
    get closedByPeer() {
      return state.closedByPeer;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
