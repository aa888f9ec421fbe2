/**
 * Reading bike-counter inputs (`comptage-velo-donnees-compteurs`) into raw records, whatever the
 * format: ODS API v2.1 JSON (`{total_count, results}`), `/exports/json` (bare array), API v1
 * (`{records: [{fields}]}`), API v2.0 (`{records: [{record: {fields}}]}`), JSON Lines of any of
 * these (or of bare records), and the ODS CSV export (labels or API names as column headers).
 *
 * Nothing is validated here beyond the file structure: each raw record keeps its values as found,
 * and `bikes-handler.ts` decides what is accepted.
 */
import { parse } from 'csv-parse/sync';
import { InputFormatError } from '../../shared/model';
import { readJsonDocuments } from '../json-input';

/** One record as read, values untouched. */
export interface RawBikeRecord {
  id: unknown;
  nom: unknown;
  siteName: unknown;
  count: unknown;
  date: unknown;
  /** `{lon, lat}` object (v2.1), `[lat, lon]` array (v1) or `"lat,lon"` text (CSV). */
  coordinates: unknown;
  /** 1-based physical line (CSV, last line of the record), when known. */
  line?: number;
  /** Byte offset of the record start in the file, when known. */
  byteOffset?: number;
}

/** Something in the file that is not a record: counted by the caller with `reason`. */
export interface RawBikeReject {
  reason: string;
  line?: number;
  byteOffset?: number;
}

export interface BikeReadCallbacks {
  record(r: RawBikeRecord): void;
  reject(r: RawBikeReject): void;
}

/** CSV columns: export labels first, then API field names (export with "use field names"). */
const CSV_COLUMNS = {
  id: ['Identifiant du compteur', 'id_compteur'],
  nom: ['Nom du compteur', 'nom_compteur'],
  siteName: ['Nom du site de comptage', 'name'],
  count: ['Comptage horaire', 'sum_counts'],
  date: ['Date et heure de comptage', 'date'],
  coordinates: ['Coordonnées géographiques', 'coordinates'],
} as const;
type CsvKey = keyof typeof CSV_COLUMNS;
const REQUIRED_CSV: CsvKey[] = ['id', 'count', 'date'];

function firstMeaningfulByte(bytes: Buffer): number {
  let i = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return i < bytes.length ? bytes[i] : -1;
}

function firstLine(bytes: Buffer): string {
  const end = bytes.indexOf(0x0a);
  return bytes.subarray(0, end < 0 ? Math.min(bytes.length, 4096) : end).toString('utf8');
}

/**
 * Read a bike-counter file (or a CSV chunk of one: `header` is the CSV header line when the bytes
 * do not start at the top of the file). Throws InputFormatError for a structurally unusable file.
 */
export function readBikeRecords(bytes: Buffer, relPath: string, cb: BikeReadCallbacks, header?: string, baseOffset = 0): 'csv' | 'json' | 'jsonl' {
  if (header !== undefined) {
    readCsv(bytes, relPath, cb, header, baseOffset);
    return 'csv';
  }
  const b = firstMeaningfulByte(bytes);
  if (b === 0x7b /* { */ || b === 0x5b /* [ */ || b === -1) return readJson(bytes, relPath, cb);
  if (!firstLine(bytes).includes(';')) {
    // Neither JSON nor a `;` CSV: let the JSON reader name the problem (not_json).
    return readJson(bytes, relPath, cb);
  }
  readCsv(bytes, relPath, cb, undefined, baseOffset);
  return 'csv';
}

// ───────────────────────────── JSON ─────────────────────────────

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function looksLikeRecord(o: Record<string, unknown>): boolean {
  return 'id_compteur' in o || 'sum_counts' in o;
}

/** The records inside one JSON document, or null when the document has no known shape. */
function recordsOf(doc: unknown): unknown[] | null {
  if (Array.isArray(doc)) return doc;
  if (!isObject(doc)) return null;
  if (Array.isArray(doc.results)) return doc.results;
  if (Array.isArray(doc.records)) return doc.records;
  if (looksLikeRecord(doc)) return [doc];
  return null;
}

/** v1 `{fields}` and v2.0 `{record: {fields}}` wrappers → the plain record. */
function unwrap(item: unknown): Record<string, unknown> | null {
  if (!isObject(item)) return null;
  if (isObject(item.fields) && !looksLikeRecord(item)) return item.fields;
  if (isObject(item.record) && isObject((item.record as Record<string, unknown>).fields)) {
    return (item.record as Record<string, unknown>).fields as Record<string, unknown>;
  }
  return item;
}

function readJson(bytes: Buffer, relPath: string, cb: BikeReadCallbacks): 'json' | 'jsonl' {
  const input = readJsonDocuments(bytes, relPath);
  for (const bad of input.badLines) cb.reject({ reason: bad.reason, line: bad.line });
  let known = 0;
  let unknown = 0;
  const perDoc: unknown[][] = [];
  for (const doc of input.documents) {
    const recs = recordsOf(doc);
    if (recs === null) unknown++;
    else {
      known++;
      perDoc.push(recs);
    }
  }
  if (known === 0) {
    throw new InputFormatError(
      `${relPath}: unknown format for bikes (expected {results:[…]}, an array of records, {records:[…]} or JSON Lines of these; found ${describe(input.documents[0])})`,
      'unknown_format',
    );
  }
  for (let i = 0; i < unknown; i++) cb.reject({ reason: 'unknown_shape' });
  for (const recs of perDoc) {
    for (const item of recs) {
      const r = unwrap(item);
      if (!r) {
        cb.reject({ reason: 'bad_record' });
        continue;
      }
      cb.record({ id: r.id_compteur, nom: r.nom_compteur, siteName: r.name, count: r.sum_counts, date: r.date, coordinates: r.coordinates });
    }
  }
  return input.format;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (isObject(v)) return `an object with keys ${Object.keys(v).slice(0, 6).join(', ') || '(none)'}`;
  return typeof v;
}

// ───────────────────────────── CSV ─────────────────────────────

const CSV_OPTIONS = { delimiter: ';', bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true } as const;

function headerIndex(fields: string[], relPath: string): Record<CsvKey, number> {
  const names = fields.map((f) => f.replace(/^\uFEFF/, '').trim());
  const idx = {} as Record<CsvKey, number>;
  for (const key of Object.keys(CSV_COLUMNS) as CsvKey[]) {
    idx[key] = -1;
    for (const label of CSV_COLUMNS[key]) {
      const i = names.indexOf(label);
      if (i >= 0) {
        idx[key] = i;
        break;
      }
    }
  }
  const missing = REQUIRED_CSV.filter((k) => idx[k] < 0).map((k) => CSV_COLUMNS[k][0]);
  if (missing.length) {
    throw new InputFormatError(
      `${relPath}: bad header for the bike counters CSV: missing column(s) ${missing.map((m) => `"${m}"`).join(', ')} (header: ${names.slice(0, 8).join(';')})`,
      'bad_header',
    );
  }
  return idx;
}

function readCsv(bytes: Buffer, relPath: string, cb: BikeReadCallbacks, header: string | undefined, baseOffset: number): void {
  let idx: Record<CsvKey, number> | null = null;
  let width = 0;
  if (header !== undefined) {
    const h = parse(header, { delimiter: ';', bom: true, relax_quotes: true }) as string[][];
    if (!h.length) throw new InputFormatError(`${relPath}: empty CSV header`, 'bad_header');
    idx = headerIndex(h[0], relPath);
    width = h[0].length;
  }
  let prevBytes = 0;
  // Records are handled one by one in on_record and not accumulated (bounded memory).
  try {
    parse(bytes, {
      ...CSV_OPTIONS,
      on_record: (record: string[], info: { lines: number; bytes: number }) => {
        const start = prevBytes;
        prevBytes = info.bytes;
        const line = header === undefined ? info.lines : undefined;
        if (idx === null) {
          idx = headerIndex(record, relPath);
          width = record.length;
          return null;
        }
        if (record.length !== width) {
          cb.reject({ reason: 'bad_column_count', line, byteOffset: baseOffset + start });
          return null;
        }
        const at = (k: CsvKey) => (idx![k] >= 0 ? record[idx![k]] : undefined);
        cb.record({
          id: at('id'),
          nom: at('nom'),
          siteName: at('siteName'),
          count: at('count'),
          date: at('date'),
          coordinates: at('coordinates'),
          line,
          byteOffset: baseOffset + start,
        });
        return null;
      },
    });
  } catch (e) {
    if (e instanceof InputFormatError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new InputFormatError(`${relPath}: unreadable CSV (${msg})`, 'bad_csv');
  }
  if (idx === null) throw new InputFormatError(`${relPath}: CSV without a header line`, 'bad_header');
}
