/**
 * comptages: one byte range of the ODS CSV export → per-day partials.
 *
 * Rejected records (reason codes, one per record, checked in this order):
 * `bad_quoting` (malformed CSV quoting, see csv/scanner), `field_count` (not as many fields as
 * the header), `bad_arc` (empty or non-integer Identifiant arc), `bad_date` (no parseable ISO
 * timestamp with offset, or not on a whole hour), `bad_debit` (non-empty Débit that is not a
 * finite number ≥ 0), `bad_taux` (non-empty Taux that is not a number in [0, 100]).
 * Empty Débit / Taux are kept as null; `Etat arc` (Invalide, Barré, …) is not a filter.
 */
import { CsvRecord, CsvScanner, matchHeader, splitCsvLine } from '../../csv';
import type { EtatTrafic } from '../../shared/metrics-types';
import { ChunkOutput, emptyQuality, InputFormatError, reject } from '../../shared/model';
import { HOUR_MS, parisDay, parseIsoWithOffset } from '../../shared/time';
import type { ChunkInput } from '../source-handler';
import { COMPTAGES_COLUMNS, COMPTAGES_REQUIRED_COLUMNS, normalizeEtatTrafic } from './constants';

/** One measured hour: [start of the hour (epoch ms), débit or null, taux or null, normalised état]. */
export type HourTuple = [hourStart: number, debit: number | null, taux: number | null, etat: EtatTrafic];

export interface ArcPartial {
  /** First non-empty Libelle of the arc's rows in the chunk. */
  libelle: string;
  /** First usable geo_point_2d of the arc's rows in the chunk, normalised to `lat, lon`; null when none. */
  geo_point_2d: string | null;
  /** Hours in row order (duplicates are resolved when the day is finalised). */
  hours: HourTuple[];
}

/** Partial of one Paris day: arcs keyed by normalised arc id. Plain JSON. */
export interface ComptagesPartial {
  arcs: Record<string, ArcPartial>;
}

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

/** The range may carry its first physical line (planChunks ranges do). */
function firstLineOf(input: ChunkInput): number | undefined {
  const l = input.range.firstLine as unknown;
  return typeof l === 'number' && Number.isInteger(l) && l > 0 ? l : undefined;
}

export function processComptagesChunk(input: ChunkInput): ChunkOutput<ComptagesPartial> {
  const file = input.file.relPath;
  const start = input.range.start;
  const first = start === 0;
  const firstLine = first ? 1 : firstLineOf(input);
  const sc = new CsvScanner(input.bytes, { baseOffset: start, bom: first, firstLine: firstLine ?? 1 });
  const withLine = firstLine !== undefined;

  let layout: Layout;
  if (first) {
    const h = sc.next();
    if (!h) throw new InputFormatError(`comptages ${file}: empty file, no header`, 'bad_header');
    if (h.error) throw new InputFormatError(`comptages ${file}: header line ${h.line} has malformed CSV quoting (${h.error}); no usable header`, 'bad_header');
    layout = comptagesLayout(h.fields, file);
  } else {
    if (input.header === undefined) throw new InputFormatError(`comptages ${file}: chunk ${input.range.index} has no header`, 'bad_header');
    layout = comptagesLayout(splitCsvLine(input.header), file);
  }
  sc.setKeepColumns(layout.keep);

  const q = emptyQuality();
  const partials: Record<string, ComptagesPartial> = Object.create(null);
  let lastDay = '';
  let lastPartial: ComptagesPartial | null = null;
  let lastHourKey = NaN;

  const bad = (r: CsvRecord, reason: string): void => {
    reject(q, withLine ? { file, line: r.line, byteOffset: r.offset, reason } : { file, byteOffset: r.offset, reason });
  };

  for (let r = sc.next(); r; r = sc.next()) {
    q.records++;
    if (r.error) {
      bad(r, 'bad_quoting');
      continue;
    }
    const f = r.fields;
    if (f.length !== layout.width) {
      bad(r, 'field_count');
      continue;
    }
    const arcId = normalizeArcId(f[layout.arc]);
    if (arcId === null) {
      bad(r, 'bad_arc');
      continue;
    }
    const t = parseTimestamp(f[layout.date]);
    if (Number.isNaN(t)) {
      bad(r, 'bad_date');
      continue;
    }
    const debit = parseDecimal(f[layout.debit]);
    if (debit !== null && (Number.isNaN(debit) || debit < 0)) {
      bad(r, 'bad_debit');
      continue;
    }
    const taux = parseDecimal(f[layout.taux]);
    if (taux !== null && (Number.isNaN(taux) || taux < 0 || taux > 100)) {
      bad(r, 'bad_taux');
      continue;
    }
    // The row stamped T counts the hour [T − 1 h, T), which belongs to that hour's Paris day.
    const hourStart = t - HOUR_MS;
    let partial: ComptagesPartial;
    if (hourStart === lastHourKey && lastPartial) partial = lastPartial;
    else {
      const day = parisDay(hourStart);
      if (day === lastDay && lastPartial) partial = lastPartial;
      else {
        partial = partials[day] ??= { arcs: Object.create(null) as Record<string, ArcPartial> };
        lastDay = day;
        lastPartial = partial;
      }
      lastHourKey = hourStart;
    }
    let arc = partial.arcs[arcId];
    if (arc === undefined) {
      arc = { libelle: f[layout.libelle].trim(), geo_point_2d: normalizeGeoPoint(f[layout.geo]), hours: [] };
      partial.arcs[arcId] = arc;
    } else {
      // First non-empty value in row order (the merge applies the same rule across chunks).
      if (arc.geo_point_2d === null) arc.geo_point_2d = normalizeGeoPoint(f[layout.geo]);
      if (arc.libelle === '') arc.libelle = f[layout.libelle].trim();
    }
    arc.hours.push([hourStart, debit, taux, normalizeEtatTrafic(f[layout.etat].trim())]);
    q.accepted++;
  }
  return { partials, quality: q };
}
