/**
 * Reading Vélib' inputs into raw snapshots: GBFS `station_status` / `station_information` JSON
 * (single document or JSON Lines), and the ODS CSV exports `velib-disponibilite-en-temps-reel`
 * (availability) and `velib-emplacement-des-stations` (locations). Values are read, not judged:
 * `velib-handler.ts` decides what is kept.
 */
import { parse } from 'csv-parse/sync';
import { InputFormatError } from '../../shared/model';
import { parseIsoWithOffset } from '../../shared/time';
import { parseLatLon } from '../../geo/geo';
import { readJsonDocuments } from '../json-input';

export interface VelibStatusRaw {
  code: string | null;
  /** NaN when missing or non-numeric. */
  bikes: number;
  docks: number;
  /** null when the feed gives no mechanical / e-bike split; NaN when given but unusable. */
  mechanical: number | null;
  ebike: number | null;
  installed: boolean;
  /** Unix seconds; null when absent. */
  lastReported: number | null;
  line?: number;
}

export interface VelibInfoEntry {
  code: string | null;
  name: string | null;
  lat: number | null;
  lon: number | null;
  capacity: number | null;
  line?: number;
}

export interface VelibRawSnapshot {
  kind: 'status' | 'info';
  /** Unix seconds; null when the file gives none (information files may have none). */
  instant: number | null;
  status: VelibStatusRaw[];
  info: VelibInfoEntry[];
}

export interface VelibReadResult {
  snapshots: VelibRawSnapshot[];
  /** Things that are not station entries (bad JSON lines, unknown documents). */
  rejects: { reason: string; line?: number }[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v.trim());
  return NaN;
}

function optNumber(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  return toNumber(v);
}

function code(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function text(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}

/** 1/0, true/false, "1"/"0", "OUI"/"NON"; absent → `dflt`. */
function flag(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    const t = v.trim().toUpperCase();
    return !(t === '0' || t === 'NON' || t === 'FALSE' || t === 'NO');
  }
  return dflt;
}

/** Unix seconds from seconds or milliseconds. */
function unixSeconds(v: unknown): number | null {
  const n = optNumber(v);
  if (n === null || !Number.isFinite(n)) return null;
  return n > 1e12 ? Math.floor(n / 1000) : n;
}

function coord(lat: number, lon: number): { lat: number | null; lon: number | null } {
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) {
    return { lat: null, lon: null };
  }
  return { lat, lon };
}

function firstMeaningfulByte(bytes: Buffer): number {
  let i = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return i < bytes.length ? bytes[i] : -1;
}

/** Read one Vélib' file. Throws InputFormatError when it holds nothing recognisable. */
export function readVelibSnapshots(bytes: Buffer, relPath: string): VelibReadResult {
  const b = firstMeaningfulByte(bytes);
  if (b !== 0x7b && b !== 0x5b && b !== -1) {
    const nl = bytes.indexOf(0x0a);
    const first = bytes.subarray(0, nl < 0 ? Math.min(bytes.length, 4096) : nl).toString('utf8');
    if (first.includes(';')) return readCsv(bytes, relPath);
  }
  return readJson(bytes, relPath);
}

// ───────────────────────────── GBFS JSON ─────────────────────────────

const STATUS_KEYS = ['num_bikes_available', 'numBikesAvailable', 'num_docks_available', 'numDocksAvailable'];
const INFO_KEYS = ['lat', 'lon', 'name', 'capacity'];

/** `[{mechanical: n}, {ebike: n}]` (Vélib'), or `{mechanical, ebike}`. */
function bikeTypes(v: unknown): { mechanical: number | null; ebike: number | null } {
  if (v === undefined || v === null) return { mechanical: null, ebike: null };
  let m: unknown;
  let e: unknown;
  if (Array.isArray(v)) {
    for (const item of v) {
      if (!isObject(item)) continue;
      if ('mechanical' in item) m = item.mechanical;
      if ('ebike' in item) e = item.ebike;
    }
  } else if (isObject(v)) {
    m = v.mechanical;
    e = v.ebike;
  } else return { mechanical: NaN, ebike: NaN };
  const mechanical = optNumber(m);
  const ebike = optNumber(e);
  if (mechanical === null && ebike === null) return { mechanical: null, ebike: null };
  // A feed giving only one of the two types means 0 of the other.
  return { mechanical: mechanical ?? 0, ebike: ebike ?? 0 };
}

function statusEntry(s: unknown): VelibStatusRaw {
  if (!isObject(s)) return { code: null, bikes: NaN, docks: NaN, mechanical: null, ebike: null, installed: false, lastReported: null };
  const types = bikeTypes(s.num_bikes_available_types);
  return {
    code: code(s.stationCode ?? s.station_code),
    bikes: toNumber(s.num_bikes_available ?? s.numBikesAvailable),
    docks: toNumber(s.num_docks_available ?? s.numDocksAvailable),
    mechanical: types.mechanical,
    ebike: types.ebike,
    installed: flag(s.is_installed, true),
    lastReported: unixSeconds(s.last_reported),
  };
}

function infoEntry(s: unknown): VelibInfoEntry {
  if (!isObject(s)) return { code: null, name: null, lat: null, lon: null, capacity: null };
  const capacity = optNumber(s.capacity);
  return {
    code: code(s.stationCode ?? s.station_code),
    name: text(s.name),
    ...coord(toNumber(s.lat), toNumber(s.lon)),
    capacity: capacity !== null && Number.isFinite(capacity) ? capacity : null,
  };
}

/** GBFS discovery (`gbfs.json`) and `system_information`: known, without stations. */
function isAuxiliaryGbfs(doc: Record<string, unknown>): boolean {
  const data = doc.data;
  if (!isObject(data)) return false;
  if (Array.isArray(data.feeds) || 'system_id' in data || 'timezone' in data) return true;
  return Object.values(data).some((v) => isObject(v) && Array.isArray(v.feeds));
}

function readJson(bytes: Buffer, relPath: string): VelibReadResult {
  const input = readJsonDocuments(bytes, relPath);
  const rejects: VelibReadResult['rejects'] = input.badLines.map((b) => ({ reason: b.reason, line: b.line }));
  const snapshots: VelibRawSnapshot[] = [];
  let known = 0;
  let unknown = 0;
  for (const doc of input.documents) {
    if (!isObject(doc)) {
      unknown++;
      continue;
    }
    const data = doc.data;
    if (isObject(data) && Array.isArray(data.stations)) {
      known++;
      const stations = data.stations as unknown[];
      const has = (keys: string[]) => stations.some((s) => isObject(s) && keys.some((k) => k in s));
      const instant = unixSeconds(doc.lastUpdatedOther ?? doc.last_updated);
      if (has(STATUS_KEYS)) snapshots.push({ kind: 'status', instant, status: stations.map(statusEntry), info: [] });
      else if (has(INFO_KEYS)) snapshots.push({ kind: 'info', instant, status: [], info: stations.map(infoEntry) });
      else if (stations.length) {
        // Neither shape: every entry is unusable as a status entry.
        snapshots.push({ kind: 'status', instant, status: stations.map(statusEntry), info: [] });
      }
      continue;
    }
    if (isAuxiliaryGbfs(doc)) {
      known++;
      continue;
    }
    unknown++;
  }
  if (known === 0) {
    const first = input.documents[0];
    const what = isObject(first) ? `an object with keys ${Object.keys(first).slice(0, 6).join(', ') || '(none)'}` : Array.isArray(first) ? 'an array' : typeof first;
    throw new InputFormatError(
      `${relPath}: unknown format for velib (expected a GBFS station_status or station_information feed {data: {stations: […]}}; found ${what})`,
      'unknown_format',
    );
  }
  for (let i = 0; i < unknown; i++) rejects.push({ reason: 'unknown_shape' });
  return { snapshots, rejects };
}

// ───────────────────────────── ODS CSV exports ─────────────────────────────

const COLUMNS = {
  code: ['Identifiant station', 'stationcode'],
  name: ['Nom station', 'Nom de la station', 'name'],
  installed: ['Station en fonctionnement', 'is_installed'],
  capacity: ['Capacité de la station', 'capacity'],
  docks: ['Nombre bornettes libres', 'numdocksavailable'],
  bikes: ['Nombre total vélos disponibles', 'numbikesavailable'],
  mechanical: ['Vélos mécaniques disponibles', 'mechanical'],
  ebike: ['Vélos électriques disponibles', 'ebike'],
  updated: ['Actualisation de la donnée', 'duedate'],
  coordinates: ['Coordonnées géographiques', 'coordonnees_geo'],
} as const;
type Col = keyof typeof COLUMNS;

function readCsv(bytes: Buffer, relPath: string): VelibReadResult {
  let rows: string[][];
  const lines: number[] = [];
  try {
    rows = parse(bytes, {
      delimiter: ';',
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      on_record: (r: string[], info: { lines: number }) => {
        lines.push(info.lines);
        return r;
      },
    }) as string[][];
  } catch (e) {
    throw new InputFormatError(`${relPath}: unreadable CSV (${e instanceof Error ? e.message : String(e)})`, 'bad_csv');
  }
  if (!rows.length) throw new InputFormatError(`${relPath}: CSV without a header line`, 'bad_header');
  const names = rows[0].map((h) => h.replace(/^\uFEFF/, '').trim());
  const idx = {} as Record<Col, number>;
  for (const k of Object.keys(COLUMNS) as Col[]) idx[k] = COLUMNS[k].map((l) => names.indexOf(l)).find((i) => i >= 0) ?? -1;

  const isStatus = idx.code >= 0 && idx.bikes >= 0 && idx.docks >= 0;
  const isInfo = idx.code >= 0 && idx.coordinates >= 0;
  if (!isStatus && !isInfo) {
    throw new InputFormatError(
      `${relPath}: bad header for a Vélib' CSV: expected the velib-disponibilite-en-temps-reel export (Identifiant station; Nombre total vélos disponibles; Nombre bornettes libres; …) or velib-emplacement-des-stations (Identifiant station; Coordonnées géographiques) (header: ${names.slice(0, 6).join(';')})`,
      'bad_header',
    );
  }

  const rejects: VelibReadResult['rejects'] = [];
  const status: VelibStatusRaw[] = [];
  const info: VelibInfoEntry[] = [];
  let instant: number | null = null;
  const width = names.length;
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    const line = lines[r];
    if (row.length !== width) {
      rejects.push({ reason: 'bad_column_count', line });
      continue;
    }
    const at = (k: Col) => (idx[k] >= 0 ? row[idx[k]] : undefined);
    const p = parseLatLon(at('coordinates'));
    const cap = optNumber(at('capacity'));
    const entry: VelibInfoEntry = {
      code: code(at('code')),
      name: text(at('name')),
      ...(p ? coord(p.lat, p.lon) : { lat: null, lon: null }),
      capacity: cap !== null && Number.isFinite(cap) ? cap : null,
      line,
    };
    info.push(entry);
    if (!isStatus) continue;
    const updatedText = at('updated');
    const updated = updatedText ? parseIsoWithOffset(updatedText.trim()) : NaN;
    const lastReported = Number.isFinite(updated) ? Math.floor(updated / 1000) : null;
    if (lastReported !== null && (instant === null || lastReported > instant)) instant = lastReported;
    const mech = optNumber(at('mechanical'));
    const eb = optNumber(at('ebike'));
    status.push({
      code: entry.code,
      bikes: toNumber(at('bikes')),
      docks: toNumber(at('docks')),
      mechanical: mech === null && eb === null ? null : (mech ?? 0),
      ebike: mech === null && eb === null ? null : (eb ?? 0),
      installed: flag(at('installed'), true),
      lastReported,
      line,
    });
  }
  if (isStatus) return { snapshots: [{ kind: 'status', instant, status, info }], rejects };
  return { snapshots: [{ kind: 'info', instant: null, status: [], info }], rejects };
}
