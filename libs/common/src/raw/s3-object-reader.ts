/**
 * Positional reads of one pinned version (ETag) of an S3 object, through ranged GETs.
 *
 * Reading the bytes of a run in order (the chunk planner reads a whole file, a processor reads
 * its range) keeps ONE GET open and copies from its body straight into the caller's buffer; a
 * read that does not continue where the previous one stopped opens a new ranged GET.
 *
 * Streamed bodies are outside the SDK's retries and timeouts (its request timeout ends when the
 * headers arrive), so every wait for data here has its own idle timeout: when a body sends
 * nothing for `readTimeoutMs`, it is destroyed (its socket closed) and the range is requested
 * again from the current position. A read gives up after `readAttempts` failed attempts in a row.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { RawReader, SourceChangedError } from '@cityflow/domain';
import type { Logger } from '../logging/logger';
import { describeS3Error, s3ErrorCode, S3ReadError, S3ReadTimeoutError, S3RequestError, s3HttpStatus } from './s3-errors';
import { formatS3Url } from './s3-location';

/** One version of one object. */
export interface S3ObjectVersion {
  bucket: string;
  key: string;
  /** The ETag seen at discovery, quotes included; opaque (not an MD5 for multipart uploads). */
  etag: string;
  size: number;
}

export interface S3ReadOptions {
  /** Idle timeout of one wait for response headers or body bytes (S3_READ_TIMEOUT_MS). */
  readTimeoutMs: number;
  /** Failed attempts in a row (stall, reset, early end) before a read fails (S3_READ_ATTEMPTS). */
  readAttempts: number;
  log?: Logger;
}

/** A failed attempt at reading a body: retried from the current position. */
class BodyFailure extends Error {
  constructor(
    message: string,
    readonly stalled: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BodyFailure';
  }
}

/**
 * The SourceChangedError an S3 error on a request for a pinned version means, if any: 412 (the
 * If-Match failed: another version is there now) or 404 (the object is gone).
 */
export function sourceChangedBy(e: unknown, relPath: string, obj: S3ObjectVersion): SourceChangedError | null {
  const status = s3HttpStatus(e);
  if (status === 412) return new SourceChangedError(relPath, `${formatS3Url(obj.bucket, obj.key)} no longer has ETag ${obj.etag}`);
  if (status === 404) return new SourceChangedError(relPath, `${formatS3Url(obj.bucket, obj.key)} no longer exists`);
  return null;
}

/**
 * The body of one ranged GET, read in paused mode: `readInto` copies what is buffered and waits
 * (bounded) only when nothing is.
 */
class RangeBody {
  /** File offset of the next byte the body yields. */
  pos: number;
  private pending: Buffer | null = null;
  private failure: Error | null = null;
  private released = false;

  constructor(
    private readonly stream: Readable,
    private readonly abort: AbortController,
    start: number,
    /** File offset just past the last byte requested. */
    readonly end: number,
  ) {
    this.pos = start;
    // Kept for the body's whole life: an error nobody listens to would crash the process.
    stream.on('error', (e) => (this.failure ??= e));
  }

  get exhausted(): boolean {
    return this.pos >= this.end;
  }

  /** Copy up to `len` bytes (≥ 1, within the body) into `buf[off…]`; returns the count copied. */
  async readInto(buf: Buffer, off: number, len: number, idleMs: number): Promise<number> {
    for (;;) {
      let got = 0;
      while (got < len) {
        const chunk = this.pending ?? (this.stream.read() as Buffer | null);
        this.pending = null;
        if (chunk === null) break;
        const n = Math.min(len - got, chunk.length);
        chunk.copy(buf, off + got, 0, n);
        if (n < chunk.length) this.pending = chunk.subarray(n);
        got += n;
      }
      if (got > 0) {
        this.pos += got;
        return got;
      }
      if (this.failure) throw new BodyFailure(`body failed at byte ${this.pos}: ${this.failure.message}`, false, { cause: this.failure });
      if (this.stream.readableEnded || this.stream.destroyed) throw new BodyFailure(`body ended at byte ${this.pos}, before byte ${this.end}`, false);
      await this.waitForData(idleMs);
    }
  }

  private waitForData(idleMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const s = this.stream;
      const settle = (err?: Error) => {
        clearTimeout(timer);
        s.off('readable', wake);
        s.off('end', wake);
        s.off('close', wake);
        s.off('error', wake);
        if (err) reject(err);
        else resolve();
      };
      const wake = () => settle();
      const timer = setTimeout(() => settle(new BodyFailure(`no data for ${idleMs} ms at byte ${this.pos}`, true)), idleMs);
      s.on('readable', wake);
      s.on('end', wake);
      s.on('close', wake);
      s.on('error', wake);
    });
  }

  /**
   * Let go of the body. A fully read body is drained so its connection goes back to the pool;
   * any other is destroyed with its request, closing the socket (an unread body would otherwise
   * hold a pooled connection forever).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.exhausted && this.pending === null && !this.failure) {
      this.stream.resume();
    } else {
      this.abort.abort();
      this.stream.destroy();
    }
  }
}

/** Reader of one pinned object version; see the module comment. */
export class S3ObjectReader implements RawReader {
  private body: RangeBody | null = null;
  private closed = false;

  constructor(
    private readonly client: S3Client,
    private readonly object: S3ObjectVersion,
    readonly relPath: string,
    private readonly opts: S3ReadOptions,
    /** The bytes the caller announced it will read: a GET starting inside asks for no more. */
    private readonly span?: { start: number; end: number },
  ) {}

  get size(): number {
    return this.object.size;
  }

  async read(buf: Buffer, off: number, len: number, pos: number): Promise<number> {
    if (this.closed) throw new Error(`${this.relPath}: read after close`);
    if (Math.min(len, this.size - pos) <= 0) return 0;
    if (this.body && (this.body.pos !== pos || this.body.exhausted)) this.dropBody();
    let failures = 0;
    for (;;) {
      try {
        this.body ??= await this.openBody(pos);
        return await this.body.readInto(buf, off, Math.min(len, this.body.end - pos), this.opts.readTimeoutMs);
      } catch (e) {
        this.dropBody();
        if (!(e instanceof BodyFailure)) throw e;
        failures++;
        const where = `${formatS3Url(this.object.bucket, this.object.key)}: ${e.message}`;
        if (failures >= this.opts.readAttempts) {
          const message = `${where} (${failures} attempt${failures > 1 ? 's' : ''})`;
          throw e.stalled ? new S3ReadTimeoutError(message, { cause: e.cause }) : new S3ReadError(message, { cause: e.cause });
        }
        this.opts.log?.warn({ file: this.relPath, pos, attempt: failures, reason: e.message }, 'S3 body read failed; requesting the range again from the current position');
      }
    }
  }

  /** Nothing to check: every response's ETag was compared with the pinned one. */
  async verify(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    this.dropBody();
  }

  private dropBody(): void {
    this.body?.release();
    this.body = null;
  }

  /** GET `[pos, end)` of the pinned version: to the end of the announced span, else of the object. */
  private async openBody(pos: number): Promise<RangeBody> {
    const { bucket, key, etag, size } = this.object;
    const end = this.span && pos >= this.span.start && pos < this.span.end ? this.span.end : size;
    const abort = new AbortController();
    let headersTimedOut = false;
    const timer = setTimeout(() => {
      headersTimedOut = true;
      abort.abort();
    }, this.opts.readTimeoutMs);
    let res;
    try {
      // If-Match makes S3 answer 412 instead of another version's bytes. Some emulators ignore
      // it, so the response's ETag is compared as well.
      res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${pos}-${end - 1}`, IfMatch: etag }), {
        abortSignal: abort.signal,
      });
    } catch (e) {
      // Ours or the client's request timeout (both S3_READ_TIMEOUT_MS): an attempt that stalled.
      if (headersTimedOut || s3ErrorCode(e) === 'TimeoutError') throw new BodyFailure(`no response within ${this.opts.readTimeoutMs} ms for byte ${pos}`, true, { cause: e });
      throw sourceChangedBy(e, this.relPath, this.object) ?? new S3RequestError(`GET ${formatS3Url(bucket, key)} bytes ${pos}-${end - 1} failed: ${describeS3Error(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    const stream = res.Body as Readable | undefined;
    const discard = () => {
      abort.abort();
      stream?.destroy();
    };
    if (!stream) {
      discard();
      throw new BodyFailure(`response without a body for byte ${pos}`, false);
    }
    if (res.ETag !== etag) {
      discard();
      throw new SourceChangedError(this.relPath, `${formatS3Url(bucket, key)} now has ETag ${res.ETag}, the run pinned ${etag}`);
    }
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.ContentRange ?? '');
    if (!range || Number(range[1]) !== pos || Number(range[2]) !== end - 1 || Number(range[3]) !== size) {
      discard();
      throw new Error(`${formatS3Url(bucket, key)}: asked bytes ${pos}-${end - 1} of ${size}, got Content-Range ${JSON.stringify(res.ContentRange ?? null)}`);
    }
    return new RangeBody(stream, abort, pos, end);
  }
}
