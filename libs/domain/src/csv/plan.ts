/**
 * CSV-aware chunk planning by byte range (SPEC §1 chunker, §8 bounded memory).
 *
 * The file is read once through one fixed-size buffer, whatever its size. Record boundaries
 * follow exactly the scanner's rules (`readRecordAt`), so parsing each range separately and
 * joining the records gives the same records as one sequential parse; a range never ends
 * inside a quoted field.
 *
 * Speed: almost every line of a real export is a "plain" line — terminated, not blank, with an
 * even number of quote bytes — and such a line is always exactly one record (see `readRecordAt`).
 * A small WebAssembly SIMD routine (`LINE_SKIPPER_WAT` below) counts runs of plain lines 16 bytes
 * at a time; `readRecordAt` still decides every other line (odd quote count, blank, last line,
 * line cut by the buffer end). Without WebAssembly SIMD the planner uses `readRecordAt` alone,
 * with the same result.
 */
import { InputFormatError } from '../shared/model';
import { openLocalFile } from '../raw/local-raw-source';
import type { RawReader } from '../raw/raw-source';
import {
  DEFAULT_DELIMITER,
  DEFAULT_MAX_RECORD_BYTES,
  DEFAULT_MAX_RECORD_LINES,
  delimiterCode,
  hasBom,
  readRecordAt,
} from './scanner';
import { createLineSkipper } from './line-skipper';

export interface ChunkRange {
  index: number;
  /** First byte of the range (0 for the first range, which includes the BOM and the header). */
  start: number;
  /** Byte just past the range (exclusive). */
  end: number;
  /** Data records in the range (the header is not counted). */
  rows: number;
  /** 1-based physical line at `start`. */
  firstLine: number;
}

export interface ChunkPlan {
  /** The first record's raw text, without BOM or terminator. */
  header: string;
  /** Byte offset just past the header's terminator. */
  headerEnd: number;
  /** Data records in the file (malformed ones included, blank lines excluded). */
  totalRows: number;
  fileSize: number;
  ranges: ChunkRange[];
}

export interface PlanOptions {
  delimiter?: string;
  /** Read buffer size. Default 4 MiB; at least twice `maxRecordBytes`. */
  bufferSize?: number;
  maxRecordBytes?: number;
  maxRecordLines?: number;
  /** Called after each read with the bytes scanned so far and the file size. */
  onProgress?: (bytesScanned: number, fileSize: number) => void;
  /**
   * Called once per range, in order, as soon as the range is final, with the header line (the
   * plan's `header`). A full range is final when the next data record has been read; the last
   * range only at the end of the file, since trailing blank lines are appended to it. The range
   * passed is the one returned in the plan. Awaited: planning waits for it, so a slow consumer
   * holds back the reading.
   */
  onRange?: (range: ChunkRange, header: string) => void | Promise<void>;
  /**
   * Count plain lines with the WebAssembly SIMD routine when the runtime has it. Default true;
   * `false` plans with `readRecordAt` alone (the tests compare both).
   */
  simd?: boolean;
}

export const DEFAULT_PLAN_BUFFER = 4 * 1024 * 1024;

/**
 * Split a CSV file into ranges of `rowsPerChunk` data records (the last one shorter), aligned on
 * record boundaries and covering `[0, fileSize)` with no gap or overlap. Blank lines belong to the
 * range they fall in. An empty file yields one empty range.
 *
 * `input` is a raw reader (read sequentially from byte 0, version checked after the last read,
 * closed when this returns or throws) or the path of a local file.
 */
export async function planChunks(input: RawReader | string, rowsPerChunk: number, opts: PlanOptions = {}): Promise<ChunkPlan> {
  const reader = typeof input === 'string' ? await openLocalFile(input) : input;
  try {
    if (!Number.isInteger(rowsPerChunk) || rowsPerChunk < 1) throw new RangeError(`rowsPerChunk must be a positive integer, got ${rowsPerChunk}`);
    const delim = opts.delimiter ?? DEFAULT_DELIMITER;
    delimiterCode(delim);
    const maxBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    const maxLines = opts.maxRecordLines ?? DEFAULT_MAX_RECORD_LINES;
    const bufSize = Math.max(opts.bufferSize ?? DEFAULT_PLAN_BUFFER, 2 * maxBytes + 2, 1024);
    const onRange = opts.onRange;
    const skipper = opts.simd === false ? null : createLineSkipper(bufSize);

    const fileSize = reader.size;
    // With the skipper the buffer lives in its WebAssembly memory (read into directly, no copy).
    const buf = skipper ? skipper.buf : Buffer.allocUnsafe(bufSize);
    let base = 0; // file offset of buf[0]
    let len = 0; // valid bytes in buf
    let readPos = 0; // next file offset to read
    let eof = fileSize === 0;
    let pos = 0;

    /** Drop bytes before `pos`, then read until the buffer is full or the file ends. */
    const refill = async (): Promise<void> => {
      if (pos > 0) {
        buf.copy(buf, 0, pos, len);
        base += pos;
        len -= pos;
        pos = 0;
      }
      while (len < bufSize && !eof) {
        const bytesRead = await reader.read(buf, len, bufSize - len, readPos);
        if (bytesRead === 0) {
          eof = true;
          break;
        }
        len += bytesRead;
        readPos += bytesRead;
        if (readPos >= fileSize) eof = true;
      }
      opts.onProgress?.(base + pos, fileSize);
    };

    await refill();
    if (hasBom(buf.subarray(0, len))) pos = 3;

    let line = 1;
    let header: string | null = null;
    let headerEnd = 0;
    let totalRows = 0;
    const ranges: ChunkRange[] = [];
    let emitted = 0; // ranges already passed to onRange
    let curStart = 0;
    let curLine = 1;
    let curRows = 0;

    /** Count `n` data records ending at file offset `end` (n ≤ rowsPerChunk - curRows). */
    const count = (n: number, end: number): void => {
      totalRows += n;
      curRows += n;
      if (curRows === rowsPerChunk) {
        ranges.push({ index: ranges.length, start: curStart, end, rows: curRows, firstLine: curLine });
        curStart = end;
        curLine = line;
        curRows = 0;
      }
    };
    /** Ranges known to be final: a full last range is not, until a data record after it is read. */
    const finalRanges = (): number => (curRows > 0 ? ranges.length : ranges.length - 1);
    /** Pass the final ranges not passed yet to `onRange`. */
    const emit = async (upTo: number): Promise<void> => {
      while (emitted < upTo) await onRange!(ranges[emitted++], header ?? '');
    };

    for (;;) {
      if (pos >= len) {
        if (eof) break;
        await refill();
        continue;
      }
      if (skipper && header !== null) {
        // Plain lines are one record each: take as many as the current range still needs.
        const taken = skipper.skip(pos, len, rowsPerChunk - curRows);
        if (taken > 0) {
          pos = skipper.end();
          line += taken;
          count(taken, base + pos);
          if (onRange && emitted < finalRanges()) await emit(finalRanges());
          continue;
        }
      }
      const span = readRecordAt(buf, pos, len, eof, delim, maxBytes, maxLines, true, false);
      if (span === null) {
        await refill();
        continue;
      }
      const recStart = base + pos;
      let recEnd: number;
      if (span.end < 0) {
        // A first line longer than the buffer: an error record running to the next LF.
        if (header === null) throw new InputFormatError(`CSV header line is longer than ${maxBytes} bytes`, 'bad_header');
        recEnd = await skipToLineEnd();
      } else {
        if (header === null && !span.blank) {
          header = buf.toString('utf8', pos, span.contentEnd);
          headerEnd = base + span.end;
        }
        recEnd = base + span.end;
        pos = span.end;
      }
      line += span.lines;
      if (span.blank || recStart < headerEnd) continue;
      count(1, recEnd);
      if (onRange && emitted < finalRanges()) await emit(finalRanges());
    }
    if (curStart < fileSize || ranges.length === 0) {
      if (curRows > 0 || ranges.length === 0) ranges.push({ index: ranges.length, start: curStart, end: fileSize, rows: curRows, firstLine: curLine });
      else ranges[ranges.length - 1].end = fileSize;
    }
    await reader.verify();
    opts.onProgress?.(fileSize, fileSize);
    if (onRange) await emit(ranges.length);
    return { header: header ?? '', headerEnd, totalRows, fileSize, ranges };

    /** Advance past the next LF (or to the end of the file); returns the file offset reached. */
    async function skipToLineEnd(): Promise<number> {
      for (;;) {
        const lf = buf.indexOf(10, pos);
        if (lf >= 0 && lf < len) {
          pos = lf + 1;
          return base + pos;
        }
        pos = len;
        if (eof) return base + pos;
        await refill();
      }
    }
  } finally {
    await reader.close();
  }
}
