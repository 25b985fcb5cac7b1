/**
 * Human progress: a live, rewritten status line on a TTY; otherwise (CI logs) one plain line
 * when a phase starts and another every 5 s while it keeps reporting. With --output json, nothing but the final JSON goes to stdout.
 */
export interface Reporter {
  /** A permanent line (stdout in text mode). */
  line(text: string): void;
  /** A warning (stderr). */
  warn(text: string): void;
  /** Transient progress (stderr): rewritten on a TTY, printed when the phase changes otherwise. */
  progress(phase: string, text: string): void;
  /** Ends any transient line. */
  done(): void;
}

/** On a non-terminal, a phase that keeps reporting progress prints a line at most this often (a CI log shows the wait moving). */
export const PROGRESS_EVERY_MS = 5_000;

export function makeReporter(opts: {
  json: boolean;
  stdout: (l: string) => void;
  stderr: (l: string) => void;
  tty: boolean;
  /** @default Date.now */
  now?: () => number;
}): Reporter {
  const now = opts.now ?? Date.now;
  let lastPhase = '';
  let lastPrinted = 0;
  let live = false;
  const clear = () => {
    if (live) process.stderr.write('\r\x1b[2K');
    live = false;
  };
  return {
    line(text) {
      if (opts.json) return;
      clear();
      opts.stdout(text);
    },
    warn(text) {
      clear();
      opts.stderr(`warning: ${text}`);
    },
    progress(phase, text) {
      if (opts.json) return;
      if (opts.tty) {
        process.stderr.write(`\r\x1b[2K${phase}: ${text}`);
        live = true;
      } else if (phase !== lastPhase || now() - lastPrinted >= PROGRESS_EVERY_MS) {
        opts.stderr(`${phase}: ${text}`);
        lastPrinted = now();
      }
      lastPhase = phase;
    },
    done() {
      clear();
    },
  };
}
