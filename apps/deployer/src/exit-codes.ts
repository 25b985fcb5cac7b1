/** The deployer's exit statuses. Scripts and CI branch on these; never reuse a number. */
export const ExitCode = {
  Ok: 0,
  /** Something failed while doing the work (a cluster error, a failed rollout, an I/O error). */
  Failure: 1,
  /** Bad input: unknown command or flag, unknown env, invalid config. Nothing was changed. */
  Usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
