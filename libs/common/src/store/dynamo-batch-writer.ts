import { AttributeValue, BatchWriteItemCommand, DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
import type { Logger } from 'pino';
import { DynamoWriteError } from './store-errors';

/** BatchWriteItem takes at most 25 put/delete requests. */
export const BATCH_WRITE_MAX_ITEMS = 25;
/** Longest wait between two attempts of one batch. */
export const BATCH_WRITE_MAX_DELAY_MS = 5000;

/** One put or delete, with the table and the attribute names of its key (to spot duplicate keys). */
export interface TableWrite {
  table: string;
  keyNames: readonly string[];
  put?: Record<string, AttributeValue>;
  delete?: Record<string, AttributeValue>;
}

export interface BatchWriterOptions {
  /** Calls one batch may take (the first included) before DynamoWriteError. */
  maxAttempts: number;
  /** First backoff delay; doubled each attempt, with jitter, capped at 5 s. */
  retryBaseMs: number;
  log?: Logger;
  /** How to wait (tests may observe it). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Errors that say "try again later" rather than "this request is wrong". */
const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

export function isRetryableDynamoError(e: unknown): boolean {
  const err = e as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (!err || typeof err !== 'object') return false;
  if (err.name && RETRYABLE_NAMES.has(err.name)) return true;
  if (err.code && RETRYABLE_CODES.has(err.code)) return true;
  if (err.$retryable) return true;
  const status = err.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

function identity(w: TableWrite): string {
  const item = (w.put ?? w.delete)!;
  return JSON.stringify([w.table, ...w.keyNames.map((k) => item[k])]);
}

function toRequest(w: TableWrite): WriteRequest {
  return w.put ? { PutRequest: { Item: w.put } } : { DeleteRequest: { Key: w.delete! } };
}

/**
 * Writes any number of puts/deletes with BatchWriteItem: batches of at most 25 with no key twice
 * in one batch (DynamoDB rejects that), sent one after another in the given order. A batch's
 * UnprocessedItems, and throttling or server errors, are retried with exponential backoff and
 * "equal jitter" (the n-th wait is between half and all of min(5 s, base × 2^(n−1)), so waits
 * grow until the cap), up to `maxAttempts` calls for the batch. Then DynamoWriteError: the write never returns
 * with items missing.
 */
export class DynamoBatchWriter {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly opts: BatchWriterOptions,
  ) {
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = opts.random ?? Math.random;
  }

  /** Wait before attempt `attempt + 1` (attempt ≥ 1). */
  backoffMs(attempt: number): number {
    const ceiling = Math.min(BATCH_WRITE_MAX_DELAY_MS, this.opts.retryBaseMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  async writeAll(writes: TableWrite[]): Promise<void> {
    let pending = writes;
    while (pending.length) {
      const batch: TableWrite[] = [];
      const rest: TableWrite[] = [];
      const seen = new Set<string>();
      for (const w of pending) {
        const id = identity(w);
        // A second write of a key waits for a later batch, so writes of one key keep their order.
        if (batch.length < BATCH_WRITE_MAX_ITEMS && !seen.has(id)) {
          seen.add(id);
          batch.push(w);
        } else {
          rest.push(w);
        }
      }
      await this.writeBatch(batch, rest.length);
      pending = rest;
    }
  }

  private async writeBatch(batch: TableWrite[], queued: number): Promise<void> {
    let requestItems: Record<string, WriteRequest[]> = {};
    for (const w of batch) (requestItems[w.table] ??= []).push(toRequest(w));
    for (let attempt = 1; ; attempt++) {
      let left: number;
      let failure: unknown;
      try {
        const out = await this.client.send(new BatchWriteItemCommand({ RequestItems: requestItems }));
        const unprocessed = out.UnprocessedItems ?? {};
        left = Object.values(unprocessed).reduce((n, list) => n + (list?.length ?? 0), 0);
        if (left === 0) return;
        requestItems = unprocessed as Record<string, WriteRequest[]>;
      } catch (e) {
        if (!isRetryableDynamoError(e)) {
          const n = Object.values(requestItems).reduce((s, l) => s + l.length, 0);
          throw new DynamoWriteError(`BatchWriteItem refused: ${(e as Error).name}: ${(e as Error).message}`, n + queued, attempt, { cause: e });
        }
        failure = e;
        left = Object.values(requestItems).reduce((s, l) => s + l.length, 0);
      }
      if (attempt >= this.opts.maxAttempts) {
        const why = failure ? `${(failure as Error).name}: ${(failure as Error).message}` : `${left} unprocessed item(s)`;
        throw new DynamoWriteError(
          `BatchWriteItem gave up after ${attempt} attempt(s) (${why}); ${left + queued} item(s) not written`,
          left + queued,
          attempt,
          failure ? { cause: failure } : undefined,
        );
      }
      const delay = this.backoffMs(attempt);
      this.opts.log?.warn({ attempt, unprocessed: left, delayMs: delay, err: failure ? (failure as Error).name : undefined }, 'dynamodb batch write retry');
      await this.sleep(delay);
    }
  }
}
