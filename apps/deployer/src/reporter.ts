/**
 * Human progress: a live, rewritten status line on a TTY; one plain line per phase otherwise
 * (CI logs). With --output json, nothing but the final JSON goes to stdout.
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

export function makeReporter(opts: { json: boolean; stdout: (l: string) => void; stderr: (l: string) => void; tty: boolean }): Reporter {
  let lastPhase = '';
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
      } else if (phase !== lastPhase) {
        opts.stderr(`${phase}: ${text}`);
      }
      lastPhase = phase;
    },
    done() {
      clear();
    },
  };
}
