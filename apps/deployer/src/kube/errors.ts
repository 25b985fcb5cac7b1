/** A problem the user must fix before anything can happen (kubeconfig, context, reachability). One line. */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';
}

/** A Kubernetes API error response (a `Status` object), with the parts callers branch on. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: { name?: string; kind?: string; causes?: { field?: string; message?: string; reason?: string }[] },
  ) {
    super(message);
  }
}
