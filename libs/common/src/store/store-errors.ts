/**
 * Named errors of the store backends. Each sets `name` so logs and BullMQ's `failedReason` say
 * which one it was. None extends BullMQ's UnrecoverableError: the store does not know about jobs,
 * so a processor maps the permanent ones (UnstorableValueError, InvalidStoreKeyError) itself.
 */

/**
 * A document holds a value no backend can store without changing it (NaN, a Date, an integer
 * beyond ±(2^53 − 1), …). Thrown before anything is written. `path` is a JSON path such as
 * `$.metrics[12].debit_max`.
 */
export class UnstorableValueError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'UnstorableValueError';
  }
}

/**
 * A document that cannot be made to fit the backend's item limit even after splitting its large
 * arrays and objects into parts: one entry (often one long string) is larger than a part may be.
 * Thrown before anything is written. `path` points at the oversized value.
 */
export class DocumentTooLargeError extends UnstorableValueError {
  constructor(
    path: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(path, `${bytes} bytes once stored, more than the ${limit} bytes one stored item may hold, and it cannot be split further`);
    this.name = 'DocumentTooLargeError';
  }
}

/** A store key part (type, day, source, file key, run id) outside the characters every backend accepts. */
export class InvalidStoreKeyError extends Error {
  constructor(
    readonly what: string,
    readonly value: string,
  ) {
    super(`invalid ${what} for the store: ${JSON.stringify(value)}`);
    this.name = 'InvalidStoreKeyError';
  }
}

/**
 * DynamoDB did not take every item of a write within the retry budget (throttling, UnprocessedItems)
 * or refused it. Nothing is reported as written: the caller's job fails and BullMQ retries it;
 * every write is a keyed put, so the retry rewrites the same items.
 */
export class DynamoWriteError extends Error {
  constructor(
    message: string,
    /** Items of the write that were not confirmed as written. */
    readonly unwritten: number,
    /** Calls made for the batch that gave up. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DynamoWriteError';
  }
}

/**
 * A stored document whose parts are missing or do not match its head (a concurrent overwrite that
 * did not settle, or damage). Never answered with a partial document.
 */
export class InconsistentDocumentError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`stored document ${key} is inconsistent: ${detail}`);
    this.name = 'InconsistentDocumentError';
  }
}

/** A table, collection or index the store needs does not exist and CREATE_RESOURCES is false. */
export class StoreResourceMissingError extends Error {
  constructor(readonly missing: string[]) {
    super(`store resources missing (CREATE_RESOURCES=false, so they are not created): ${missing.join('; ')}`);
    this.name = 'StoreResourceMissingError';
  }
}

/** A table exists with another key schema than the store's item layout needs. */
export class StoreResourceMismatchError extends Error {
  constructor(
    readonly resource: string,
    detail: string,
  ) {
    super(`store resource ${resource} does not match the expected layout: ${detail}`);
    this.name = 'StoreResourceMismatchError';
  }
}

/** The store was used after `close()`. */
export class StoreClosedError extends Error {
  constructor(kind: string) {
    super(`${kind} store is closed`);
    this.name = 'StoreClosedError';
  }
}
