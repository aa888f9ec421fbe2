import * as fs from 'node:fs';
import { localVersion } from './discover';

/** The file changed since the run discovered it: its chunks would mix two versions. */
export class SourceChangedError extends Error {
  constructor(relPath: string) {
    super(`${relPath} changed since the run discovered it; start a new run`);
    this.name = 'SourceChangedError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Throw SourceChangedError unless the file at `abs` is still `version`. */
export function assertVersion(abs: string, version: string, relPath: string): void {
  if (localVersion(fs.statSync(abs)) !== version) throw new SourceChangedError(relPath);
}

/** Read [start, end) of a file, after checking it is still the version the run discovered. */
export async function readFileRange(abs: string, start: number, end: number, version: string, relPath: string): Promise<Buffer> {
  const fh = await fs.promises.open(abs, 'r');
  try {
    if (localVersion(await fh.stat()) !== version) throw new SourceChangedError(relPath);
    const buf = Buffer.allocUnsafe(end - start);
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, start + off);
      if (bytesRead === 0) throw new SourceChangedError(relPath);
      off += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/** Something fed a range block by block (a source's ChunkScanner). */
export interface BlockConsumer {
  /** Uses the complete records at the start of `buf`; returns the bytes used. */
  push(buf: Buffer, final: boolean): number;
}

export const DEFAULT_SCAN_BLOCK = 8 * 1024 * 1024;

/**
 * Feed [start, end) of a file to `consumer` in blocks of at most `blockSize` bytes (memory stays
 * at one block whatever the range size). The bytes a push leaves unused are passed again at the
 * front of the next block, so a record may straddle two reads. The file must still be `version`
 * before the first read and after the last one; otherwise SourceChangedError, and nothing the
 * consumer produced may be kept.
 */
export async function scanFileRange(
  abs: string,
  range: { start: number; end: number },
  version: string,
  relPath: string,
  consumer: BlockConsumer,
  blockSize = DEFAULT_SCAN_BLOCK,
): Promise<void> {
  const fh = await fs.promises.open(abs, 'r');
  try {
    if (localVersion(await fh.stat()) !== version) throw new SourceChangedError(relPath);
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(blockSize, range.end - range.start)));
    let carry = 0; // unused bytes kept at the front of buf
    let filePos = range.start;
    for (;;) {
      const want = Math.min(buf.length - carry, range.end - filePos);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, carry + got, want - got, filePos + got);
        if (bytesRead === 0) throw new SourceChangedError(relPath);
        got += bytesRead;
      }
      filePos += got;
      const final = filePos >= range.end;
      const len = carry + got;
      const used = consumer.push(buf.subarray(0, len), final);
      if (final) break;
      if (used === 0 && len === buf.length) {
        throw new Error(`${relPath}: a record at byte ${filePos - len} does not fit in a ${buf.length}-byte block`);
      }
      buf.copy(buf, 0, used, len);
      carry = len - used;
    }
    if (localVersion(await fh.stat()) !== version) throw new SourceChangedError(relPath);
  } finally {
    await fh.close();
  }
}
