/** A problem the user must fix before anything can happen (kubeconfig, context, reachability). One line. */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';
}

/** What a `Status` object's `details` say about a failed request (the object, and the fields at fault). */
export interface StatusDetails {
  name?: string;
  kind?: string;
  causes?: { field?: string; message?: string; reason?: string }[];
}

/**
 * A Kubernetes API error response (a `Status` object), with the parts callers branch on: the
 * HTTP status (`409`), the reason (`Conflict`) and the server's message as the error message.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }
}
