/**
 * RFC 4180 record scanner over a Buffer (SPEC §2, reliability notes §5).
 *
 * - delimiter `;` by default (any single ASCII character), quote `"`, doubled quotes inside
 *   quoted fields, quoted newlines, CRLF or LF terminators, last record with or without one;
 * - a UTF-8 BOM at byte 0 is skipped; fields are decoded as UTF-8;
 * - blank lines (empty or a lone CR) are skipped by default (they are not records);
 * - malformed quoting never throws: the record is returned with `error` set.
 *
 * Recovery rule (the same in `planChunks`, so byte ranges and chunk parses always agree):
 * a malformed record — stray quote in an unquoted field, characters after a closing quote,
 * a quoted field that does not close properly (end of data, more than `maxRecordLines` physical
 * lines or `maxRecordBytes` bytes, or a quoting error further down), a first line longer than
 * `maxRecordBytes` — covers exactly its FIRST physical line, and scanning resumes on the next
 * line. One bad quote therefore costs one line, never the rest of the chunk.
 *
 * Record extent and error kind are decided only from the bytes at and after the record start,
 * up to the end of the record, so scanning a sub-range that starts and ends on record boundaries
 * yields the same records as scanning the whole file.
 */

export type CsvErrorKind =
  /** A `"` inside an unquoted field. */
  | 'stray_quote'
  /** Something other than a delimiter or the end of the record after a closing quote. */
  | 'garbage_after_quote'
  /**
   * A quoted field opened on the record's first line does not close properly: not before the end
   * of the data, not within `maxRecordLines` lines or `maxRecordBytes` bytes, or the record it
   * would make is itself malformed further down.
   */
  | 'unclosed_quote'
  /** The record's first line alone is longer than `maxRecordBytes`. */
  | 'record_too_large';

export interface CsvRecord {
  /** Decoded fields; empty when `error` is set. */
  fields: string[];
  /** 1-based physical line of the record start (counted from `firstLine`). */
  line: number;
  /** Byte offset of the record start (counted from `baseOffset`). */
  offset: number;
  /** Byte offset just past the record terminator (or the end of the data), from `baseOffset`. */
  end: number;
  /** Physical lines the record spans (1 for an error record). */
  lines: number;
  error: CsvErrorKind | null;
}

export interface CsvScanOptions {
  /** Field delimiter, one ASCII character. Default `;`. */
  delimiter?: string;
  /** Longest record accepted, terminator excluded. Default 1 MiB. */
  maxRecordBytes?: number;
  /** Most physical lines one record may span. Default 50. */
  maxRecordLines?: number;
  /** Skip a UTF-8 BOM at byte 0 of the buffer. Default: true when `baseOffset` is 0. */
  bom?: boolean;
  /** Skip blank lines (zero length or a lone CR). Default true. */
  skipEmptyLines?: boolean;
  /** Line number of the buffer's first byte. Default 1. */
  firstLine?: number;
  /** File offset of the buffer's first byte (added to `offset`/`end`). Default 0. */
  baseOffset?: number;
  /**
   * Columns the caller reads: a quoted field at an index marked `false` is checked but returned
   * as '' (saves unescaping long GeoJSON cells the caller ignores). Default: every column.
   */
  keepColumns?: readonly boolean[] | null;
}

export const DEFAULT_DELIMITER = ';';
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
export const DEFAULT_MAX_RECORD_LINES = 50;

const LF = 10;
const CR = 13;
const QUOTE = 34;

/** Status codes of `splitRecord` (when it does not return fields). */
export const PARSE_OPEN = 1;
export const PARSE_STRAY = 2;
export const PARSE_GARBAGE = 3;

export function hasBom(buf: Buffer): boolean {
  return buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
}

export function delimiterCode(delimiter: string): number {
  if (delimiter.length !== 1 || delimiter.charCodeAt(0) > 127 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new RangeError(`CSV delimiter must be one ASCII character other than quote/CR/LF, got ${JSON.stringify(delimiter)}`);
  }
  return delimiter.charCodeAt(0);
}

/**
 * Split the text of one record (terminator already removed) into fields.
 * Returns the fields, or a status code: PARSE_OPEN (a quoted field is still open at the end of
 * `s`: the record continues on the next line), PARSE_STRAY or PARSE_GARBAGE.
 * Runs of unquoted fields are cut with the native `split`, which is several times faster than a
 * field-by-field loop on typical rows (one quoted GeoJSON at the end).
 * `keep[i] === false` skips materialising quoted field i (it is still validated, and returned as '').
 */
export function splitRecord(s: string, delim: string, keep?: readonly boolean[] | null): string[] | number {
  const n = s.length;
  const dc = delim.charCodeAt(0);
  let nq = s.indexOf('"');
  if (nq < 0) return s.split(delim);
  let out: string[];
  let i: number;
  if (nq === 0) {
    out = [];
    i = 0;
  } else {
    if (s.charCodeAt(nq - 1) !== dc) return PARSE_STRAY;
    out = s.slice(0, nq - 1).split(delim);
    i = nq;
  }
  for (;;) {
    // A quoted field starts at i: find its closing quote, skipping doubled quotes.
    let j = i + 1;
    let doubled = false;
    let q: number;
    for (;;) {
      q = s.indexOf('"', j);
      if (q < 0) return PARSE_OPEN;
      if (q + 1 < n && s.charCodeAt(q + 1) === QUOTE) {
        doubled = true;
        j = q + 2;
        continue;
      }
      break;
    }
    if (keep && keep[out.length] === false) out.push('');
    else {
      const raw = s.slice(i + 1, q);
      out.push(doubled ? raw.replaceAll('""', '"') : raw);
    }
    i = q + 1;
    if (i === n) return out;
    if (s.charCodeAt(i) !== dc) return PARSE_GARBAGE;
    i++;
    nq = s.indexOf('"', i);
    if (nq < 0) {
      if (i === n) out.push('');
      else for (const f of s.slice(i).split(delim)) out.push(f);
      return out;
    }
    if (nq > i) {
      if (s.charCodeAt(nq - 1) !== dc) return PARSE_STRAY;
      for (const f of s.slice(i, nq - 1).split(delim)) out.push(f);
      i = nq;
    }
  }
}

interface FastSlices {
  utf8Slice?(start: number, end: number): string;
}
const proto = Buffer.prototype as unknown as FastSlices;
/** Buffer.prototype.utf8Slice skips the argument checks of toString(); fall back when absent. */
const utf8: (b: Buffer, s: number, e: number) => string =
  typeof proto.utf8Slice === 'function' ? (b, s, e) => (b as unknown as Required<FastSlices>).utf8Slice(s, e) : (b, s, e) => b.toString('utf8', s, e);

/** Fields of one line of text (a header line, for instance); null when its quoting is malformed. */
export function splitCsvLine(text: string, delimiter = DEFAULT_DELIMITER): string[] | null {
  let s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (s.endsWith('\r\n')) s = s.slice(0, -2);
  else if (s.endsWith('\n') || s.endsWith('\r')) s = s.slice(0, -1);
  delimiterCode(delimiter);
  const r = splitRecord(s, delimiter);
  return typeof r === 'number' ? null : r;
}

/**
 * Parity (0/1) of the number of quote bytes in [from, to). A doubled quote `""` (the escape inside
 * quoted fields: 12 of the 14 quotes of a comptages GeoJSON cell) leaves the parity unchanged, so
 * both bytes are stepped over with one search.
 */
function quoteParity(buf: Buffer, from: number, to: number): number {
  let parity = 0;
  let q = buf.indexOf(QUOTE, from);
  while (q >= 0 && q < to) {
    if (q + 1 < to && buf[q + 1] === QUOTE) {
      q = buf.indexOf(QUOTE, q + 2);
      continue;
    }
    parity ^= 1;
    q = buf.indexOf(QUOTE, q + 1);
  }
  return parity;
}

/** Result of `readRecordAt`. `NEED_MORE` only when the data is not final. */
export interface RecordSpan {
  /** Index just past the terminator (or the data end). */
  end: number;
  /** Index of the end of the record content (before CR LF / LF). */
  contentEnd: number;
  lines: number;
  error: CsvErrorKind | null;
  fields: string[] | null;
  /** True for a blank line (not a record). */
  blank: boolean;
}

export const NEED_MORE = null;

/**
 * Read the record starting at `p` (a line start) in `buf[0, len)`. `final` says whether `len`
 * is the real end of the data; when it is not and the record may continue past `len`, returns
 * NEED_MORE. `wantFields` false skips decoding of well-formed single-line records (fast planning).
 */
export function readRecordAt(
  buf: Buffer,
  p: number,
  len: number,
  final: boolean,
  delim: string,
  maxBytes: number,
  maxLines: number,
  skipEmpty: boolean,
  wantFields: boolean,
  keep?: readonly boolean[] | null,
): RecordSpan | null {
  let lf = buf.indexOf(LF, p);
  if (lf >= len) lf = -1;
  if (lf < 0 && !final) {
    // The first line is not complete in the window.
    if (len - p > maxBytes) return { end: -1, contentEnd: -1, lines: 1, error: 'record_too_large', fields: null, blank: false };
    return NEED_MORE;
  }
  const lineEnd = lf < 0 ? len : lf;
  const end1 = lf < 0 ? len : lf + 1;
  const contentEnd1 = lineEnd > p && buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
  if (skipEmpty && contentEnd1 === p) return { end: end1, contentEnd: p, lines: 1, error: null, fields: null, blank: true };
  if (contentEnd1 - p > maxBytes) return { end: end1, contentEnd: contentEnd1, lines: 1, error: 'record_too_large', fields: null, blank: false };

  // No quote, or an even number of them: the record is this line whether or not its quoting is
  // valid (an odd count is needed for a quoted field to stay open).
  if (!wantFields && quoteParity(buf, p, lineEnd) === 0) return { end: end1, contentEnd: contentEnd1, lines: 1, error: null, fields: null, blank: false };
  const first = splitRecord(utf8(buf, p, contentEnd1), delim, keep);
  if (typeof first !== 'number') return { end: end1, contentEnd: contentEnd1, lines: 1, error: null, fields: wantFields ? first : null, blank: false };
  const status = first;
  if (status !== PARSE_OPEN) return errorLine(end1, contentEnd1, status === PARSE_STRAY ? 'stray_quote' : 'garbage_after_quote');

  // A quoted field is open at the end of the first line: find the first later line end where the
  // quote count since `p` is even (the state machine is then outside quotes, unless the record is
  // malformed, which the full parse below detects).
  if (lf < 0) return errorLine(end1, contentEnd1, 'unclosed_quote');
  // Any later failure is `unclosed_quote`: the kind must not depend on how much data follows the
  // first line (a chunk ends where the planner put a record boundary), only the extent matters.
  const fail = (): RecordSpan => errorLine(end1, contentEnd1, 'unclosed_quote');
  let lineStart = lf + 1;
  let lines = 1;
  for (;;) {
    if (lineStart >= len) {
      if (final) return fail();
      if (len - p > maxBytes) return fail();
      return NEED_MORE;
    }
    lines++;
    if (lines > maxLines) return fail();
    let nlf = buf.indexOf(LF, lineStart);
    if (nlf >= len) nlf = -1;
    if (nlf < 0 && !final) {
      if (len - p > maxBytes) return fail();
      return NEED_MORE;
    }
    const le = nlf < 0 ? len : nlf;
    if (quoteParity(buf, lineStart, le) === 1) {
      // Back outside quotes: the record ends on this line.
      const ce = le > lineStart && buf[le - 1] === CR ? le - 1 : le;
      if (ce - p > maxBytes) return fail();
      const st = splitRecord(utf8(buf, p, ce), delim, keep);
      if (typeof st !== 'number') return { end: nlf < 0 ? len : nlf + 1, contentEnd: ce, lines, error: null, fields: wantFields ? st : null, blank: false };
      return fail();
    }
    if (le - p > maxBytes) return fail();
    if (nlf < 0) return fail();
    lineStart = nlf + 1;
  }
}

function errorLine(end: number, contentEnd: number, error: CsvErrorKind): RecordSpan {
  return { end, contentEnd, lines: 1, error, fields: null, blank: false };
}

/**
 * Pull-style scanner: `next()` returns the next record, or null at the end of the buffer.
 * The whole buffer is the data (its end is the end of the last record).
 */
export class CsvScanner {
  private pos: number;
  private line: number;
  private readonly delim: string;
  private readonly maxBytes: number;
  private readonly maxLines: number;
  private readonly skipEmpty: boolean;
  private readonly base: number;
  private keep: readonly boolean[] | null;

  constructor(
    private readonly buf: Buffer,
    opts: CsvScanOptions = {},
  ) {
    this.delim = opts.delimiter ?? DEFAULT_DELIMITER;
    delimiterCode(this.delim);
    this.maxBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.maxLines = opts.maxRecordLines ?? DEFAULT_MAX_RECORD_LINES;
    this.skipEmpty = opts.skipEmptyLines ?? true;
    this.base = opts.baseOffset ?? 0;
    this.line = opts.firstLine ?? 1;
    this.keep = opts.keepColumns ?? null;
    const bom = opts.bom ?? this.base === 0;
    this.pos = bom && hasBom(buf) ? 3 : 0;
  }

  /** Change `keepColumns` for the following records (e.g. once the header has been read). */
  setKeepColumns(keep: readonly boolean[] | null): void {
    this.keep = keep;
  }

  /** Offset (from `baseOffset`) where the next record starts. */
  get offset(): number {
    return this.base + this.pos;
  }

  next(): CsvRecord | null {
    const buf = this.buf;
    const len = buf.length;
    while (this.pos < len) {
      const p = this.pos;
      const span = readRecordAt(buf, p, len, true, this.delim, this.maxBytes, this.maxLines, this.skipEmpty, true, this.keep)!;
      const line = this.line;
      this.pos = span.end;
      this.line += span.lines;
      if (span.blank) continue;
      return {
        fields: span.fields ?? [],
        line,
        offset: this.base + p,
        end: this.base + span.end,
        lines: span.lines,
        error: span.error,
      };
    }
    return null;
  }

  *[Symbol.iterator](): Generator<CsvRecord> {
    for (let r = this.next(); r; r = this.next()) yield r;
  }
}

/** Every record of `buf`, in order. */
export function parseCsv(buf: Buffer, opts: CsvScanOptions = {}): CsvRecord[] {
  const out: CsvRecord[] = [];
  const sc = new CsvScanner(buf, opts);
  for (let r = sc.next(); r; r = sc.next()) out.push(r);
  return out;
}
