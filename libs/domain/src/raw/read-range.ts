import { SourceChangedError, type RawReader } from './raw-source';

/**
 * Read [start, end) of a raw file into one buffer, then check the file is still the version the
 * reader was opened on. The reader is closed when this returns or throws.
 */
export async function readFileRange(reader: RawReader, start: number, end: number): Promise<Buffer> {
  try {
    const buf = Buffer.allocUnsafe(end - start);
    await readFully(reader, buf, 0, buf.length, start);
    await reader.verify();
    return buf;
  } finally {
    await reader.close();
  }
}

/** Something fed a range block by block (a source's ChunkScanner). */
export interface BlockConsumer {
  /**
   * Uses the complete records at the start of `buf`; returns the bytes used. `buf` is valid only
   * during the call (its memory is read into again): copy what must be kept.
   */
  push(buf: Buffer, final: boolean): number;
}

export const DEFAULT_SCAN_BLOCK = 8 * 1024 * 1024;

/**
 * Read blocks of DEFAULT_SCAN_BLOCK bytes kept between scans: a processor scans one range after
 * another, and a fresh 8 MiB buffer per range is external memory that makes V8 run full garbage
 * collections. Two spares cover two scans at once; more are allocated and dropped.
 */
const spareBlocks: Buffer[] = [];
const MAX_SPARE_BLOCKS = 2;

/** A buffer of at least `size` bytes: a spare block when one is free and large enough. */
function takeBlock(size: number): Buffer {
  if (size <= DEFAULT_SCAN_BLOCK && spareBlocks.length) return spareBlocks.pop()!;
  return size === DEFAULT_SCAN_BLOCK ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
}

function giveBack(block: Buffer): void {
  if (block.length === DEFAULT_SCAN_BLOCK && spareBlocks.length < MAX_SPARE_BLOCKS) spareBlocks.push(block);
}

/**
 * Feed [start, end) of a raw file to `consumer` in blocks of at most `blockSize` bytes (memory
 * stays at one block whatever the range size). The bytes a push leaves unused are passed again at
 * the front of the next block, so a record may straddle two reads. The reader checked the version
 * when it was opened and it is checked again after the last read; on SourceChangedError nothing
 * the consumer produced may be kept. The reader is closed when this returns or throws.
 */
export async function scanFileRange(
  reader: RawReader,
  range: { start: number; end: number },
  consumer: BlockConsumer,
  blockSize = DEFAULT_SCAN_BLOCK,
): Promise<void> {
  const size = Math.max(1, Math.min(blockSize, range.end - range.start));
  // A range smaller than the default block uses the front of a spare one when there is one.
  const block = takeBlock(size);
  try {
    const buf = block.subarray(0, size);
    let carry = 0; // unused bytes kept at the front of buf
    let filePos = range.start;
    for (;;) {
      const want = Math.min(buf.length - carry, range.end - filePos);
      await readFully(reader, buf, carry, want, filePos);
      filePos += want;
      const final = filePos >= range.end;
      const len = carry + want;
      const used = consumer.push(buf.subarray(0, len), final);
      if (final) break;
      if (used === 0 && len === buf.length) {
        throw new Error(`${reader.relPath}: a record at byte ${filePos - len} does not fit in a ${buf.length}-byte block`);
      }
      buf.copy(buf, 0, used, len);
      carry = len - used;
    }
    await reader.verify();
  } finally {
    giveBack(block);
    await reader.close();
  }
}

/** Read exactly `len` bytes at `pos` into `buf[off…]`; a file ending early is a changed file. */
async function readFully(reader: RawReader, buf: Buffer, off: number, len: number, pos: number): Promise<void> {
  let got = 0;
  while (got < len) {
    const n = await reader.read(buf, off + got, len - got, pos + got);
    if (n === 0) throw new SourceChangedError(reader.relPath, `${reader.size} bytes, the range needs byte ${pos + got}`);
    got += n;
  }
}
