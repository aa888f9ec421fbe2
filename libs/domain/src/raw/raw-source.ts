/**
 * The raw-source seam: where a run's input files are found and how their bytes are read. A local
 * folder and an S3 prefix implement the same two interfaces, so discovery, chunk planning and
 * chunk processing never know which one they use.
 */
import type { FileRef } from '../shared/model';

/** The file changed since the run discovered it: its chunks would mix two versions. */
export class SourceChangedError extends Error {
  /** `detail` says what was seen (e.g. the new version tag); the message stays one line. */
  constructor(relPath: string, detail?: string) {
    super(`${relPath} changed since the run discovered it${detail ? ` (${detail})` : ''}; start a new run`);
    this.name = 'SourceChangedError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * Positional reads of ONE version of one raw file, like a file handle.
 *
 * Version rules: opening fails with SourceChangedError when the file is no longer the version
 * the run discovered; every read returns bytes of that version or throws SourceChangedError;
 * `verify()` checks again (call it after the last read). A reader never returns bytes past
 * `size`.
 */
export interface RawReader {
  /** Path relative to the raw root (for messages). */
  readonly relPath: string;
  /** Size in bytes of the version opened. */
  readonly size: number;
  /**
   * Read up to `len` bytes at file offset `pos` into `buf[off…]`; returns the count read, which
   * may be less than `len` (call again), and is 0 only at or past `size`.
   */
  read(buf: Buffer, off: number, len: number, pos: number): Promise<number>;
  /** Throw SourceChangedError unless the file is still the version opened. */
  verify(): Promise<void>;
  /** Release the handle or connection. Safe to call twice; never throws for version reasons. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /**
   * The bytes `[start, end)` the caller is going to read, in order. A source may use it to
   * choose how to fetch them (S3: a whole small file goes through the local cache; a range is
   * one ranged GET sized to it). Reads outside it still work.
   */
  range?: { start: number; end: number };
}

/** Where a run's raw files live: a local folder or an S3 prefix. */
export interface RawSource {
  /** The raw root as jobs carry it (`rawDir`): an absolute folder or `s3://bucket/prefix`. */
  readonly location: string;
  /** Every raw file that feeds `day`, sorted by relative path (the merge order). */
  discover(day: string): Promise<FileRef[]>;
  /** Open the version of `ref` the run discovered (SourceChangedError if it changed since). */
  open(ref: FileRef, opts?: OpenOptions): Promise<RawReader>;
}
