/**
 * comptages: one byte range of the ODS CSV export → per-day partials.
 *
 * Rejected records (reason codes, one per record, checked in this order):
 * `bad_quoting` (malformed CSV quoting, see csv/scanner), `field_count` (not as many fields as
 * the header), `bad_arc` (empty or non-integer Identifiant arc), `bad_date` (no parseable ISO
 * timestamp with offset, or not on a whole hour), `bad_debit` (non-empty Débit that is not a
 * finite number ≥ 0), `bad_taux` (non-empty Taux that is not a number in [0, 100]).
 * Empty Débit / Taux are kept as null; `Etat arc` (Invalide, Barré, …) is not a filter.
 *
 * Two ways through a record, with one result:
 * - the fast path reads the bytes of a one-line record in place: field bounds come from native
 *   `indexOf` calls (delimiters, quotes), and the arc, timestamp, débit, taux and état of the usual
 *   forms are decoded from bytes without making strings;
 * - anything else (a quoted field that spans lines or is malformed, a quoted cell the metrics
 *   read, an unusual number or date form) goes through the exact path: the CSV scanner's
 *   `readRecordAt` and the string rules below.
 * `{ fastPath: false }` sends every record through the exact path; the tests compare both.
 */
import { matchHeader, splitCsvLine } from '../../csv';
import { DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_RECORD_LINES, hasBom, readRecordAt } from '../../csv/scanner';
import { createStructuralCursor, StructuralCursor } from '../../csv/structural-index';
import type { ByteRange, ChunkOutput, FileRef, QualityCounts } from '../../shared/model';
import { emptyQuality, InputFormatError, reject } from '../../shared/model';
import { HOUR_MS, parisDay, parisMidnight, parseIsoWithOffset } from '../../shared/time';
import type { ChunkInput } from '../source-handler';
import { COMPTAGES_COLUMNS, COMPTAGES_REQUIRED_COLUMNS, ETATS_TRAFIC, normalizeEtatTrafic } from './constants';
import { ComptagesPartial, ETAT_CODE, PartialBuilder } from './partial';

/** Header columns located for one file. */
interface Layout {
  width: number;
  arc: number;
  libelle: number;
  date: number;
  debit: number;
  taux: number;
  etat: number;
  geo: number;
  keep: boolean[];
}

/** Check a header record and locate the columns; throws InputFormatError `bad_header`. */
export function comptagesLayout(fields: readonly string[] | null, where: string): Layout {
  if (!fields) throw new InputFormatError(`comptages header (${where}): malformed CSV quoting`, 'bad_header');
  const m = matchHeader(fields, COMPTAGES_COLUMNS, COMPTAGES_REQUIRED_COLUMNS);
  if (m.missing.length) {
    throw new InputFormatError(`comptages header (${where}): missing column(s) ${m.missing.map((c) => JSON.stringify(c)).join(', ')}`, 'bad_header');
  }
  const ix = m.index as Record<(typeof COMPTAGES_REQUIRED_COLUMNS)[number], number>;
  const layout: Layout = {
    width: m.width,
    arc: ix['Identifiant arc'],
    libelle: ix['Libelle'],
    date: ix['Date et heure de comptage'],
    debit: ix['Débit horaire'],
    taux: ix["Taux d'occupation"],
    etat: ix['Etat trafic'],
    geo: ix['geo_point_2d'],
    keep: [],
  };
  // Only the columns read are materialised (the quoted geo_shape is the bulk of each row).
  for (let i = 0; i < m.width; i++) layout.keep.push(false);
  for (const i of [layout.arc, layout.libelle, layout.date, layout.debit, layout.taux, layout.etat, layout.geo]) layout.keep[i] = true;
  return layout;
}

const ARC_RE = /^\d{1,15}$/;
const NUM_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Arc id in canonical form (`0042` → `42`), or null. */
export function normalizeArcId(text: string): string | null {
  const n = text.length;
  let plain = n > 0 && n <= 15 && text.charCodeAt(0) !== 48;
  for (let i = 0; plain && i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) plain = false;
  }
  if (plain) return text;
  const s = text.trim();
  if (!ARC_RE.test(s)) return null;
  return String(Number(s));
}

/**
 * A decimal number, null for an empty (or blank) cell, NaN for anything else (no hex, no
 * `Infinity`, no comma decimals). The plain `123` / `123.45` form is read without Number():
 * an integer mantissa below 2^53 divided by an exact power of ten is the correctly rounded
 * value, the same double Number() gives.
 */
export function parseDecimal(text: string): number | null {
  const n = text.length;
  if (n === 0) return null;
  if (n <= 15) {
    let mant = 0;
    let frac = -1;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        mant = mant * 10 + (c - 48);
        if (frac >= 0) frac++;
      } else if (c === 46 && frac < 0 && i > 0) frac = 0;
      else break;
    }
    if (i === n && frac !== 0) return frac > 0 ? mant / POW10[frac] : mant;
  }
  let s = text;
  if (!NUM_RE.test(s)) {
    s = s.trim();
    if (s === '') return null;
    if (!NUM_RE.test(s)) return NaN;
  }
  const v = Number(s);
  return Number.isFinite(v) ? v : NaN;
}

/** `lat,lon` / `lat, lon` → `lat, lon` (the numbers' text kept as written); null when unusable. */
export function normalizeGeoPoint(text: string): string | null {
  const i = text.indexOf(',');
  if (i < 0) return null;
  const lat = text.slice(0, i).trim();
  const lon = text.slice(i + 1).trim();
  if (!lat || !lon || !Number.isFinite(Number(lat)) || !Number.isFinite(Number(lon))) return null;
  return `${lat}, ${lon}`;
}

// Timestamps repeat for every arc of an hour: memoise their parse (bounded).
const tsCache = new Map<string, number>();
function parseTimestamp(text: string): number {
  let v = tsCache.get(text);
  if (v === undefined) {
    v = parseIsoWithOffset(text.trim());
    if (Number.isFinite(v) && v % HOUR_MS !== 0) v = NaN; // counts are hourly: a row must be on a whole hour
    if (tsCache.size >= 4096) tsCache.clear();
    tsCache.set(text, v);
  }
  return v;
}


// ───────────────────────────── chunk scanner ─────────────────────────────

const LF = 10;
const CR = 13;
const QUOTE = 34;
const SEMI = 59;
/** Widest header the fast path handles (field bounds live in fixed scratch arrays). */
const MAX_FAST_FIELDS = 64;

/** Most `;`, `"` and LF bytes a line may hold for the fast path (more: the exact path). */
const MAX_FAST_MARKS = 256;

/** Fast-path outcome of one line. */
const FAST_DONE = 0; // a record, read and counted
const FAST_EXACT = 1; // the exact path decides everything again from scratch
const FAST_BLANK = 2; // a blank line: not a record
const FAST_MORE = 3; // the line goes on past the bytes given

// The état labels as UTF-8 bytes, with their ETAT_CODE.
const ETAT_BYTES: { code: number; bytes: Buffer }[] = ETATS_TRAFIC.map((e) => ({ code: ETAT_CODE[e], bytes: Buffer.from(e, 'utf8') }));

// Date.UTC of a calendar day (NaN when the day does not exist), memoised: few distinct days.
const dayMsCache = new Map<number, number>();
function utcDayMs(y: number, mo: number, d: number): number {
  const key = y * 10000 + mo * 100 + d;
  let v = dayMsCache.get(key);
  if (v === undefined) {
    v = Date.UTC(y, mo - 1, d);
    if (new Date(v).getUTCDate() !== d) v = NaN;
    if (dayMsCache.size > 100_000) dayMsCache.clear();
    dayMsCache.set(key, v);
  }
  return v;
}

const digit = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : -1);

/**
 * `YYYY-MM-DDTHH:MM:SS±HH:MM` (or a space for T) read from bytes: the instant, NaN when the
 * date or time is invalid or not on a whole hour, or undefined when the text has another form
 * (then the string rules decide). Same result as `parseTimestamp` on the same text.
 */
function fastTimestamp(b: Buffer, s: number, e: number): number | undefined {
  if (e - s !== 25) return undefined;
  const sep = b[s + 10];
  const sign = b[s + 19];
  if (b[s + 4] !== 45 || b[s + 7] !== 45 || (sep !== 84 && sep !== 32) || b[s + 13] !== 58 || b[s + 16] !== 58 || b[s + 22] !== 58) return undefined;
  if (sign !== 43 && sign !== 45) return undefined;
  const d0 = digit(b[s]), d1 = digit(b[s + 1]), d2 = digit(b[s + 2]), d3 = digit(b[s + 3]);
  const m0 = digit(b[s + 5]), m1 = digit(b[s + 6]), j0 = digit(b[s + 8]), j1 = digit(b[s + 9]);
  const h0 = digit(b[s + 11]), h1 = digit(b[s + 12]), i0 = digit(b[s + 14]), i1 = digit(b[s + 15]);
  const s0 = digit(b[s + 17]), s1 = digit(b[s + 18]);
  const o0 = digit(b[s + 20]), o1 = digit(b[s + 21]), o2 = digit(b[s + 23]), o3 = digit(b[s + 24]);
  if ((d0 | d1 | d2 | d3 | m0 | m1 | j0 | j1 | h0 | h1 | i0 | i1 | s0 | s1 | o0 | o1 | o2 | o3) < 0) return undefined;
  const y = d0 * 1000 + d1 * 100 + d2 * 10 + d3;
  // Date.UTC maps years 0–99 to 1900–1999: leave such text to the string rules, which share it.
  if (y < 100) return undefined;
  const mo = m0 * 10 + m1, d = j0 * 10 + j1, h = h0 * 10 + h1, mi = i0 * 10 + i1, sec = s0 * 10 + s1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return NaN;
  const day = utcDayMs(y, mo, d);
  if (Number.isNaN(day)) return NaN;
  const off = (sign === 45 ? -1 : 1) * ((o0 * 10 + o1) * 60 + o2 * 10 + o3);
  const t = day + h * HOUR_MS + mi * 60_000 + sec * 1000 - off * 60_000;
  return t % HOUR_MS === 0 ? t : NaN;
}

/** fastDecimal: the text has another form (the string rules decide). */
const NOT_FAST = -2;
/** cellNumber: the cell is not a number in the allowed range. */
const BAD_CELL = -1;
/**
 * A plain decimal cell read from bytes, exactly as `parseDecimal` reads its fast form: NaN for
 * an empty cell (null), NOT_FAST when the text has another form.
 */
function fastDecimal(b: Buffer, s: number, e: number): number {
  const n = e - s;
  if (n === 0) return NaN;
  if (n > 15) return NOT_FAST;
  let mant = 0;
  let frac = -1;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0 && i > s) frac = 0;
    else return NOT_FAST;
  }
  if (frac === 0) return NOT_FAST;
  return frac > 0 ? mant / POW10[frac] : mant;
}

/** Arc number from an all-digit cell of 1–15 digits; -1 otherwise. */
function fastArc(b: Buffer, s: number, e: number): number {
  const n = e - s;
  if (n < 1 || n > 15) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

function fastEtat(b: Buffer, s: number, e: number): number {
  const n = e - s;
  for (const { code, bytes } of ETAT_BYTES) {
    if (bytes.length !== n) continue;
    let i = 0;
    while (i < n && b[s + i] === bytes[i]) i++;
    if (i === n) return code;
  }
  return -1;
}

export interface ComptagesScanOptions {
  /** Default true. False sends every record through the exact path (used to test the fast one). */
  fastPath?: boolean;
  /** Default true: find field bounds with WebAssembly SIMD when the runtime has it (false: `indexOf`). */
  simd?: boolean;
  maxRecordBytes?: number;
  maxRecordLines?: number;
}

/**
 * Scans one byte range of a comptages CSV, fed in blocks (`push`), into per-day partials.
 * Memory is the current block plus the columns of the accepted rows (22 bytes a row), whatever
 * the range size. `processComptagesChunk` is the one-block form.
 */
export class ComptagesChunkScanner {
  private readonly file: string;
  private readonly withLine: boolean;
  private readonly fast: boolean;
  private readonly maxBytes: number;
  private readonly maxLines: number;
  private layout: Layout | null = null;
  /** File offset of the next byte `push` receives. */
  private offset: number;
  private line: number;
  private atFileStart: boolean;
  /** Inside a record longer than a block: drop bytes up to the next LF. */
  private skipping = false;
  private readonly q: QualityCounts = emptyQuality();
  private readonly days = new Map<string, PartialBuilder>();
  /** Epoch hour of an hour's start → (builder, hour of day), memoised per scanner. */
  private readonly hourSlots = new Map<number, { b: PartialBuilder; h: number }>();
  // Field bounds of the current record (fast path).
  private readonly fs = new Int32Array(MAX_FAST_FIELDS);
  private readonly fe = new Int32Array(MAX_FAST_FIELDS);
  private readonly fq = new Uint8Array(MAX_FAST_FIELDS);
  /** Finds the `;`, `"` and LF bytes of the block; `marks` holds those of the current line. */
  private readonly cursor: StructuralCursor;
  private readonly marks = new Int32Array(MAX_FAST_MARKS);
  /** Where the line read by `fastLine` ends (just past its LF). */
  private lineNext = 0;

  constructor(input: { file: FileRef; range: ByteRange; header?: string }, opts: ComptagesScanOptions = {}) {
    this.file = input.file.relPath;
    this.fast = opts.fastPath ?? true;
    this.cursor = createStructuralCursor({ simd: opts.simd });
    this.maxBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.maxLines = opts.maxRecordLines ?? DEFAULT_MAX_RECORD_LINES;
    this.offset = input.range.start;
    this.atFileStart = input.range.start === 0;
    const firstLine = this.atFileStart ? 1 : firstLineOf(input.range);
    this.withLine = firstLine !== undefined;
    this.line = firstLine ?? 1;
    if (!this.atFileStart) {
      if (input.header === undefined) throw new InputFormatError(`comptages ${this.file}: chunk ${input.range.index} has no header`, 'bad_header');
      this.layout = comptagesLayout(splitCsvLine(input.header), this.file);
    }
  }

  /**
   * Scan the complete records at the start of `buf` (the bytes following the previous push).
   * Returns how many bytes were used: the caller passes the rest again, followed by more bytes.
   * With `final`, `buf` ends the range and every byte is used.
   */
  push(buf: Buffer, final: boolean): number {
    this.cursor.reset(buf);
    const len = buf.length;
    let pos = 0;
    if (this.atFileStart) {
      if (len < 3 && !final) return 0;
      if (hasBom(buf)) pos = 3;
      this.atFileStart = false;
    }
    while (pos < len) {
      if (this.skipping) {
        const lf = buf.indexOf(LF, pos);
        if (lf < 0) {
          pos = len;
          break;
        }
        pos = lf + 1;
        this.skipping = false;
        continue;
      }
      if (this.fast && this.layout !== null) {
        const r = this.fastLine(buf, pos, len, final);
        if (r === FAST_MORE) break;
        if (r !== FAST_EXACT) {
          this.line++;
          pos = this.lineNext;
          continue;
        }
      }
      const span = readRecordAt(buf, pos, len, final, ';', this.maxBytes, this.maxLines, true, true, this.layout?.keep ?? null);
      if (span === null) break; // the record continues past this block
      const recLine = this.line;
      const recOffset = this.offset + pos;
      if (span.end < 0) {
        // One line longer than the block allows: an error record up to the next LF.
        if (this.layout === null) throw new InputFormatError(`comptages ${this.file}: CSV header line is longer than ${this.maxBytes} bytes`, 'bad_header');
        this.q.records++;
        this.bad(recLine, recOffset, 'bad_quoting');
        this.line++;
        this.skipping = true;
        pos = len;
        break;
      }
      this.line += span.lines;
      pos = span.end;
      if (span.blank) continue;
      if (this.layout === null) {
        if (span.error) throw new InputFormatError(`comptages ${this.file}: header line ${recLine} has malformed CSV quoting (${span.error}); no usable header`, 'bad_header');
        this.layout = comptagesLayout(span.fields, this.file);
        continue;
      }
      this.q.records++;
      if (span.error) this.bad(recLine, recOffset, 'bad_quoting');
      else this.acceptFields(span.fields!, recLine, recOffset);
    }
    this.offset += pos;
    return pos;
  }

  finish(): ChunkOutput<ComptagesPartial> {
    if (this.layout === null) throw new InputFormatError(`comptages ${this.file}: empty file, no header`, 'bad_header');
    const partials: Record<string, ComptagesPartial> = Object.create(null);
    for (const day of [...this.days.keys()].sort()) partials[day] = this.days.get(day)!.build();
    return { partials, quality: this.q };
  }

  private bad(line: number, byteOffset: number, reason: string): void {
    reject(this.q, this.withLine ? { file: this.file, line, byteOffset, reason } : { file: this.file, byteOffset, reason });
  }

  /**
   * The line at `p` read in place: a one-line record with its values decoded, a blank line, or
   * FAST_EXACT for anything the exact path must decide (then nothing was counted here), or
   * FAST_MORE when the block ends before the line does. Sets `lineNext`.
   *
   * Field bounds come from the line's `;`, `"` and LF offsets (`marks`), RFC 4180: a quoted field
   * starts with a quote and its doubled quotes are content; a quote anywhere else, text after a
   * closing quote, or a quoted field still open at the LF (a record spanning lines) is left to
   * the exact path.
   */
  private fastLine(b: Buffer, p: number, len: number, final: boolean): number {
    const L = this.layout!;
    const P = this.marks;
    const n = this.cursor.collect(p, P, MAX_FAST_MARKS);
    let lineEnd: number;
    let stop: number; // marks before the LF
    if (n > 0 && b[P[n - 1]] === LF) {
      lineEnd = P[n - 1];
      stop = n - 1;
      this.lineNext = lineEnd + 1;
    } else if (n === MAX_FAST_MARKS) {
      return FAST_EXACT;
    } else {
      if (!final) return FAST_MORE;
      lineEnd = len;
      stop = n;
      this.lineNext = len;
    }
    const ce = lineEnd > p && b[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    if (ce === p) return FAST_BLANK;
    if (ce - p > this.maxBytes) return FAST_EXACT;

    const fs = this.fs;
    const fe = this.fe;
    const fq = this.fq;
    let nf = 0;
    let s = p; // start of the current field
    let i = 0; // next mark
    for (;;) {
      if (nf === MAX_FAST_FIELDS) return FAST_EXACT;
      if (s < ce && b[s] === QUOTE) {
        i++; // the opening quote
        let k = -1;
        while (i < stop) {
          const x = P[i];
          if (b[x] !== QUOTE) {
            i++; // a ';' inside the quotes: content
          } else if (x + 1 < ce && b[x + 1] === QUOTE) {
            i += 2; // a doubled quote: content
          } else {
            k = x;
            i++;
            break;
          }
        }
        if (k < 0) return FAST_EXACT; // still open at the end of the line
        fs[nf] = s + 1;
        fe[nf] = k;
        fq[nf] = 1;
        nf++;
        if (k + 1 === ce) break;
        if (b[k + 1] !== SEMI) return FAST_EXACT;
        i++; // that ';'
        s = k + 2;
      } else {
        const d = i < stop ? P[i] : ce;
        if (d < ce && b[d] === QUOTE) return FAST_EXACT; // a quote inside an unquoted field
        fs[nf] = s;
        fe[nf] = d;
        fq[nf] = 0;
        nf++;
        if (d >= ce) break;
        i++;
        s = d + 1;
      }
      if (s === ce) {
        // A delimiter ends the line: an empty last field.
        if (nf === MAX_FAST_FIELDS) return FAST_EXACT;
        fs[nf] = fe[nf] = ce;
        fq[nf] = 0;
        nf++;
        break;
      }
    }

    const line = this.line;
    const recOffset = this.offset + p;
    if (nf !== L.width) {
      this.q.records++;
      this.bad(line, recOffset, 'field_count');
      return FAST_DONE;
    }
    // The cells read below must be unquoted (a quoted one may hold escapes): else the exact path.
    if (fq[L.arc] | fq[L.date] | fq[L.debit] | fq[L.taux] | fq[L.etat] | fq[L.libelle] | fq[L.geo]) return FAST_EXACT;

    let arcNum = fastArc(b, fs[L.arc], fe[L.arc]);
    if (arcNum < 0) {
      const id = normalizeArcId(b.toString('utf8', fs[L.arc], fe[L.arc]));
      arcNum = id === null ? -1 : Number(id);
    }
    this.q.records++;
    if (arcNum < 0) {
      this.bad(line, recOffset, 'bad_arc');
      return FAST_DONE;
    }
    let t = fastTimestamp(b, fs[L.date], fe[L.date]);
    if (t === undefined) t = parseTimestamp(b.toString('utf8', fs[L.date], fe[L.date]));
    if (Number.isNaN(t)) {
      this.bad(line, recOffset, 'bad_date');
      return FAST_DONE;
    }
    const debit = this.cellNumber(b, fs[L.debit], fe[L.debit], Infinity);
    if (debit === BAD_CELL) {
      this.bad(line, recOffset, 'bad_debit');
      return FAST_DONE;
    }
    const taux = this.cellNumber(b, fs[L.taux], fe[L.taux], 100);
    if (taux === BAD_CELL) {
      this.bad(line, recOffset, 'bad_taux');
      return FAST_DONE;
    }
    let etat = fastEtat(b, fs[L.etat], fe[L.etat]);
    if (etat < 0) etat = ETAT_CODE[normalizeEtatTrafic(b.toString('utf8', fs[L.etat], fe[L.etat]).trim())];

    const slot = this.hourSlot(t - HOUR_MS);
    const builder = slot.b;
    const a = builder.arcSlot(arcNum);
    const arc = builder.arcs[a];
    if (arc.libelle === '') arc.libelle = b.toString('utf8', fs[L.libelle], fe[L.libelle]).trim();
    if (arc.geo_point_2d === null) arc.geo_point_2d = normalizeGeoPoint(b.toString('utf8', fs[L.geo], fe[L.geo]));
    builder.push(a, slot.h, debit, taux, etat);
    this.q.accepted++;
    return FAST_DONE;
  }

  /**
   * A débit / taux cell: its value, NaN when empty (null), BAD_CELL when it is not a number
   * in [0, max] (`parseDecimal` rules).
   */
  private cellNumber(b: Buffer, s: number, e: number, max: number): number {
    let v: number | null = fastDecimal(b, s, e);
    if (v === NOT_FAST) {
      v = parseDecimal(b.toString('utf8', s, e));
      if (v === null) return NaN;
      if (Number.isNaN(v)) return BAD_CELL;
    }
    if (Number.isNaN(v)) return NaN;
    return v < 0 || v > max ? BAD_CELL : v;
  }

  /** The exact path's rules on decoded fields (the same checks, in the same order). */
  private acceptFields(f: string[], line: number, recOffset: number): void {
    const L = this.layout!;
    if (f.length !== L.width) return this.bad(line, recOffset, 'field_count');
    const arcId = normalizeArcId(f[L.arc]);
    if (arcId === null) return this.bad(line, recOffset, 'bad_arc');
    const t = parseTimestamp(f[L.date]);
    if (Number.isNaN(t)) return this.bad(line, recOffset, 'bad_date');
    const debit = parseDecimal(f[L.debit]);
    if (debit !== null && (Number.isNaN(debit) || debit < 0)) return this.bad(line, recOffset, 'bad_debit');
    const taux = parseDecimal(f[L.taux]);
    if (taux !== null && (Number.isNaN(taux) || taux < 0 || taux > 100)) return this.bad(line, recOffset, 'bad_taux');
    const slot = this.hourSlot(t - HOUR_MS);
    const builder = slot.b;
    const a = builder.arcSlot(Number(arcId));
    const arc = builder.arcs[a];
    if (arc.libelle === '') arc.libelle = f[L.libelle].trim();
    if (arc.geo_point_2d === null) arc.geo_point_2d = normalizeGeoPoint(f[L.geo]);
    builder.push(a, slot.h, debit ?? NaN, taux ?? NaN, ETAT_CODE[normalizeEtatTrafic(f[L.etat].trim())]);
    this.q.accepted++;
  }

  /** The row stamped T counts the hour [T − 1 h, T), which belongs to that hour's Paris day. */
  private hourSlot(hourStart: number): { b: PartialBuilder; h: number } {
    const key = hourStart / HOUR_MS;
    let slot = this.hourSlots.get(key);
    if (slot === undefined) {
      const day = parisDay(hourStart);
      let b = this.days.get(day);
      if (b === undefined) {
        b = new PartialBuilder(day, parisMidnight(day) / HOUR_MS);
        this.days.set(day, b);
      }
      slot = { b, h: key - b.midnightHour };
      this.hourSlots.set(key, slot);
    }
    return slot;
  }
}

/** The range may carry its first physical line (planChunks ranges do). */
function firstLineOf(range: ByteRange): number | undefined {
  const l = range.firstLine as unknown;
  return typeof l === 'number' && Number.isInteger(l) && l > 0 ? l : undefined;
}

/** One range given whole. */
export function processComptagesChunk(input: ChunkInput, opts: ComptagesScanOptions = {}): ChunkOutput<ComptagesPartial> {
  const scanner = new ComptagesChunkScanner(input, opts);
  scanner.push(input.bytes, true);
  return scanner.finish();
}
