/**
 * Road works disrupting traffic ("chantiers perturbants la circulation", ODS CSV export).
 *
 * A file is a snapshot of current and planned works, so its partial is not tied to a day: the
 * list of valid works under ANY_DAY. `finalizeDay(D)` merges the lists (first occurrence of an
 * identifiant wins, later ones are counted `duplicate`) and keeps the works active on D.
 *
 * Rejected records (reason codes): `missing_id`, `missing_date`, `bad_date` (not a strict
 * `YYYY-MM-DD` calendar date), `end_before_start`, `duplicate` (same Identifiant again),
 * `bad_column_count` (ragged row), `bad_csv` (unparseable quoting). A file whose header lacks the
 * required labels fails with InputFormatError `bad_header`; an empty file with `empty_file`.
 */
import { parse } from 'csv-parse/sync';
import type { ChantierActif, ChantiersMetrics } from '../../shared/metrics-types';
import { ANY_DAY, ChunkOutput, emptyQuality, InputFormatError, mergeQuality, QualityCounts, reject } from '../../shared/model';
import { isValidDay } from '../../shared/time';
import { arrondissementOf, HORS_PARIS, parseLatLon, polygonAreaM2 } from '../../geo/geo';
import type { ChunkInput, DayResult, FinalizeContext, SourceHandler } from '../source-handler';

/** Impact weights per `Impact sur la circulation` value; any other value (or empty) weighs 0. */
export const CHANTIER_IMPACT_WEIGHTS: Readonly<Record<string, number>> = {
  BARRAGE_TOTAL: 100,
  IMPASSE: 80,
  RESTREINTE: 50,
  SENS_UNIQUE: 30,
};

/** An arrondissement is a critical zone when it has strictly more active works than this. */
export const CHANTIERS_CRITICAL_THRESHOLD = 3;

/** Key used in `impact_by_arrondissement` for works with neither a postal code nor a usable point. */
export const UNKNOWN_ARRONDISSEMENT = 'Unknown';

/** The 19 labels of the ODS export, in file order. */
export const CHANTIERS_HEADER = [
  'Identifiant',
  'Identifiant CTV',
  "Code postal de l'arrondissement",
  'Numéro de STV',
  'Typologie',
  "Maitre d'ouvrage",
  'Objet',
  'Description',
  'Voie(s)',
  'Précisions de localisation',
  'Date de début',
  'Date de fin',
  'Impact sur la circulation',
  "Détail de l'impact sur la circulation",
  'Niveau de perturbation',
  'Statut',
  'URL LettreInfoChantier',
  'geo_shape',
  'geo_point_2d',
] as const;

/** Columns the handler reads; a header missing any of them is `bad_header`. */
const REQUIRED_COLUMNS = [
  'Identifiant',
  "Code postal de l'arrondissement",
  'Typologie',
  'Objet',
  'Voie(s)',
  'Date de début',
  'Date de fin',
  'Impact sur la circulation',
  'Niveau de perturbation',
  'geo_shape',
  'geo_point_2d',
] as const;
type Column = (typeof REQUIRED_COLUMNS)[number];

/** One valid works record, as kept in the partial (plain JSON). */
export interface ChantierRecord extends ChantierActif {
  /** Where it was read, for duplicate evidence. */
  file: string;
  line: number;
}

export interface ChantiersPartial {
  works: ChantierRecord[];
}

function normaliseLabel(label: string): string {
  return label.replace(/^\uFEFF/, '').trim().normalize('NFC');
}

function emptyToNull(value: string | undefined): string | null {
  if (value === undefined) return null;
  const t = value.trim();
  return t === '' ? null : t;
}

/** `750xx` postal code of Paris → arrondissement code; `75116` (north 16th) → `75016`; else null. */
export function arrondissementFromPostalCode(code: string | null): string | null {
  if (!code) return null;
  const c = code.trim();
  if (c === '75116') return '75016';
  const m = /^750(\d\d)$/.exec(c);
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 1 && n <= 20 ? c : null;
}

function parseGeoShape(text: string | null): { type: string; coordinates: unknown } | null {
  if (!text) return null;
  try {
    const g = JSON.parse(text) as unknown;
    if (g && typeof g === 'object' && typeof (g as { type?: unknown }).type === 'string') {
      // Accept a bare geometry or a Feature-like wrapper.
      const obj = g as { type: string; coordinates?: unknown; geometry?: { type: string; coordinates: unknown } };
      if (obj.type === 'Feature' && obj.geometry) return obj.geometry;
      return { type: obj.type, coordinates: obj.coordinates };
    }
  } catch {
    // fall through
  }
  return null;
}

function safeArea(geometry: { type: string; coordinates: unknown } | null): number {
  try {
    const a = polygonAreaM2(geometry);
    return Number.isFinite(a) ? a : 0;
  } catch {
    return 0;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function countNewlines(fields: string[]): number {
  let n = 0;
  for (const f of fields) for (let i = 0; i < f.length; i++) if (f.charCodeAt(i) === 10) n++;
  return n;
}

interface ParsedRow {
  record: string[];
  info: { lines: number };
}

function parseCsv(text: string, relPath: string, onBad: (line: number) => void): ParsedRow[] {
  try {
    return parse(text, {
      delimiter: ';',
      bom: true,
      relax_quotes: false,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      skip_records_with_error: true,
      on_skip: (err) => {
        const lines = err?.lines;
        onBad(typeof lines === 'number' ? lines : 0);
        return undefined;
      },
    }) as unknown as ParsedRow[];
  } catch (e) {
    throw new InputFormatError(`${relPath}: unreadable CSV (${(e as Error).message})`, 'bad_csv');
  }
}

function headerIndex(header: string[], relPath: string): Record<Column, number> {
  const labels = header.map(normaliseLabel);
  const index = {} as Record<Column, number>;
  const missing: string[] = [];
  for (const col of REQUIRED_COLUMNS) {
    const i = labels.indexOf(col.normalize('NFC'));
    if (i < 0) missing.push(col);
    else index[col] = i;
  }
  if (missing.length) {
    throw new InputFormatError(
      `${relPath}: not a chantiers-perturbants CSV export: header lacks ${missing.map((m) => `"${m}"`).join(', ')} ` +
        `(expected ';'-separated labels starting with "Identifiant;Identifiant CTV;…")`,
      'bad_header',
    );
  }
  return index;
}

/** Parse one chantiers file (or chunk) into the list of valid works. */
export function processChantiersChunk(input: ChunkInput): ChunkOutput<ChantiersPartial> {
  const relPath = input.file.relPath;
  const quality = emptyQuality();
  let text = input.bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const startsAtZero = input.range.start === 0;
  if (startsAtZero && text.trim() === '') throw new InputFormatError(`${relPath}: empty file`, 'empty_file');

  let header: string[];
  let rows: ParsedRow[];
  const badLines: number[] = [];
  if (startsAtZero) {
    rows = parseCsv(text, relPath, (l) => badLines.push(l));
    if (rows.length === 0) throw new InputFormatError(`${relPath}: no header line`, 'bad_header');
    header = rows[0].record;
    rows = rows.slice(1);
  } else {
    if (!input.header) throw new InputFormatError(`${relPath}: chunk ${input.range.index} has no header line`, 'bad_header');
    header = (parseCsv(input.header, relPath, () => undefined)[0]?.record ?? []) as string[];
    // Line numbers are then relative to the chunk (the source is not split in practice).
    rows = parseCsv(text, relPath, (l) => badLines.push(l));
  }
  const col = headerIndex(header, relPath);
  const width = header.length;

  // csv-parse may report one broken record several times (it resumes inside it): one count per line.
  for (const l of [...new Set(badLines)]) {
    quality.records++;
    reject(quality, { file: relPath, line: l, reason: 'bad_csv' });
  }

  const works: ChantierRecord[] = [];
  const seen = new Set<string>();
  for (const { record, info } of rows) {
    const line = info.lines - countNewlines(record);
    quality.records++;
    const bad = (reason: string) => reject(quality, { file: relPath, line, reason });
    if (record.length !== width) {
      bad('bad_column_count');
      continue;
    }
    const get = (c: Column) => emptyToNull(record[col[c]]);
    const id = get('Identifiant');
    if (!id) {
      bad('missing_id');
      continue;
    }
    const debut = get('Date de début');
    const fin = get('Date de fin');
    if (!debut || !fin) {
      bad('missing_date');
      continue;
    }
    if (!isValidDay(debut) || !isValidDay(fin)) {
      bad('bad_date');
      continue;
    }
    if (fin < debut) {
      bad('end_before_start');
      continue;
    }
    if (seen.has(id)) {
      bad('duplicate');
      continue;
    }
    seen.add(id);

    const pointText = get('geo_point_2d');
    const point = parseLatLon(pointText);
    const arrondissement =
      arrondissementFromPostalCode(get("Code postal de l'arrondissement")) ?? (point ? arrondissementOf(point.lat, point.lon) : null);
    works.push({
      identifiant: id,
      typologie: get('Typologie'),
      impact: get('Impact sur la circulation'),
      arrondissement,
      date_debut: debut,
      date_fin: fin,
      objet: get('Objet'),
      voie: get('Voie(s)'),
      niveau_perturbation: get('Niveau de perturbation'),
      surface_m2: round2(safeArea(parseGeoShape(get('geo_shape')))),
      geo_point_2d: point ? pointText : null,
      file: relPath,
      line,
    });
    quality.accepted++;
  }
  return { partials: { [ANY_DAY]: { works } }, quality };
}

/** Merge the snapshots and compute the metrics of day D. */
export function finalizeChantiersDay(day: string, partials: ChantiersPartial[]): DayResult<ChantiersMetrics> {
  const quality = emptyQuality();
  const works = new Map<string, ChantierRecord>();
  for (const p of partials) {
    for (const w of p?.works ?? []) {
      if (works.has(w.identifiant)) {
        reject(quality, { file: w.file, line: w.line, reason: 'duplicate' });
        continue;
      }
      works.set(w.identifiant, w);
    }
  }

  const active = [...works.values()]
    .filter((w) => w.date_debut <= day && day <= w.date_fin)
    .sort((a, b) => (a.identifiant < b.identifiant ? -1 : a.identifiant > b.identifiant ? 1 : 0));

  const impact: Record<string, number> = {};
  const counts: Record<string, number> = {};
  let surface = 0;
  for (const w of active) {
    const zone = w.arrondissement ?? UNKNOWN_ARRONDISSEMENT;
    impact[zone] = (impact[zone] ?? 0) + (w.impact ? (CHANTIER_IMPACT_WEIGHTS[w.impact] ?? 0) : 0);
    counts[zone] = (counts[zone] ?? 0) + 1;
    surface += w.surface_m2;
  }
  const impactSorted: Record<string, number> = {};
  for (const k of Object.keys(impact).sort()) impactSorted[k] = impact[k];

  const zones = Object.entries(counts)
    .filter(([zone, n]) => n > CHANTIERS_CRITICAL_THRESHOLD && zone !== HORS_PARIS && zone !== UNKNOWN_ARRONDISSEMENT)
    .map(([arrondissement, nombre_chantiers]) => ({ arrondissement, nombre_chantiers }))
    .sort((a, b) => b.nombre_chantiers - a.nombre_chantiers || a.arrondissement.localeCompare(b.arrondissement));

  const chantiers_actifs: ChantierActif[] = active.map((w) => ({
    identifiant: w.identifiant,
    typologie: w.typologie,
    impact: w.impact,
    arrondissement: w.arrondissement,
    date_debut: w.date_debut,
    date_fin: w.date_fin,
    objet: w.objet,
    voie: w.voie,
    niveau_perturbation: w.niveau_perturbation,
    surface_m2: w.surface_m2,
    geo_point_2d: w.geo_point_2d,
  }));

  const qualite = mergeQuality([quality]);
  return {
    metrics: {
      date: day,
      chantiers_actifs,
      impact_by_arrondissement: impactSorted,
      zones_critiques: zones,
      surface_totale_impactee_m2: round2(surface),
      total_chantiers_actifs: active.length,
      qualite,
    },
    quality: qualite,
  };
}

export const chantiersHandler: SourceHandler<ChantiersPartial, ChantiersMetrics> = {
  source: 'chantiers',
  // Quoted fields span several lines, so a byte range cannot be cut safely.
  splittable: false,
  processChunk: processChantiersChunk,
  finalizeDay: (day: string, partials: ChantiersPartial[], _ctx: FinalizeContext) => finalizeChantiersDay(day, partials),
};
