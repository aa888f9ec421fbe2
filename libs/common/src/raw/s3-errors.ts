/**
 * Errors of the S3 raw source. Both read errors are ordinary (retryable) errors: the BullMQ job
 * fails and is retried with its backoff, and the retry reads its range again from the start.
 */

/** A body kept failing (reset, closed early) after every attempt of one read. */
export class S3ReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3ReadError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A body sent nothing for S3_READ_TIMEOUT_MS, on every attempt of one read. */
export class S3ReadTimeoutError extends S3ReadError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3ReadTimeoutError';
  }
}

/** An S3 request (listing, metadata) failed: endpoint unreachable, access denied, … */
export class S3RequestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3RequestError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** HTTP status of an S3 service error (undefined for network errors). */
export function s3HttpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** Error code of an S3 service error (`NoSuchBucket`, `PreconditionFailed`, …) or a network error code. */
export function s3ErrorCode(e: unknown): string {
  const err = e as { name?: string; code?: string; Code?: string } | null;
  return err?.Code ?? err?.code ?? err?.name ?? 'Error';
}

/** One line describing an S3 failure: code, status and message. */
export function describeS3Error(e: unknown): string {
  const status = s3HttpStatus(e);
  const message = (e as Error | null)?.message;
  return `${s3ErrorCode(e)}${status ? ` (HTTP ${status})` : ''}${message && message !== s3ErrorCode(e) ? `: ${message}` : ''}`;
}
