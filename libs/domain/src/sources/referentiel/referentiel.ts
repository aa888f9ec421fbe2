/**
 * Sensor geography ("référentiel géographique des capteurs permanents", ODS CSV export):
 * arc → libellé, nodes, length, centre, arrondissement; joined to comptages by arc id.
 *
 * The file is a snapshot: its partial is keyed ANY_DAY. An arc id repeats when the arc has
 * several geometry pieces (3,739 rows → 3,348 arcs); pieces are kept in file order and summed
 * when the day is finalised, so the result does not depend on chunking. When a run holds several
 * référentiel files, an arc takes its pieces from the first file that has it (`duplicate_arc`
 * counts the pieces left out), so two snapshots never double an arc's length.
 *
 * Rejected records (reason codes): `bad_quoting` (malformed CSV quoting), `field_count`,
 * `missing_field` (empty Identifiant arc or Libelle), `bad_arc` (non-integer Identifiant arc).
 * An unparseable or non-linear geo_shape does NOT reject the row: the piece is kept with length 0
 * and no vertices (libellé and nodes are still good), and is not counted as a rejection, so that
 * records = accepted + Σ rejected keeps meaning "rows dropped". Such an arc has length 0 unless
 * another piece has a geometry, and comptages then falls back to the default length.
 */
import { CsvRecord, CsvScanner, matchHeader, splitCsvLine } from '../../csv';
import { arrondissementOf, HORS_PARIS, lineLengthMeters, LonLat, parseLatLon } from '../../geo/geo';
import type { ReferentielArc, ReferentielMetrics } from '../../shared/metrics-types';
import { ANY_DAY, ChunkOutput, emptyQuality, InputFormatError, reject } from '../../shared/model';
import type { ChunkInput, DayResult, FinalizeContext, SourceHandler } from '../source-handler';
import { normalizeArcId, normalizeGeoPoint } from '../comptages/parse';

/** The 10 labels of the export, in file order (note: aval before amont). */
export const REFERENTIEL_COLUMNS = [
  'Identifiant arc',
  'Date debut dispo data',
  'Date fin dispo data',
  'Libelle',
  'Identifiant noeud aval',
  'Libelle noeud aval',
  'Identifiant noeud amont',
  'Libelle noeud amont',
  'geo_point_2d',
  'geo_shape',
] as const;
type Column = (typeof REFERENTIEL_COLUMNS)[number];

/** Columns the handler reads; a header without any of them fails the file (`bad_header`). */
export const REFERENTIEL_REQUIRED_COLUMNS: readonly Column[] = [
  'Identifiant arc',
  'Libelle',
  'Identifiant noeud aval',
  'Identifiant noeud amont',
  'geo_point_2d',
  'geo_shape',
];

/** One geometry piece of an arc (one row of the file). */
export interface ReferentielPiece {
  libelle: string;
  noeud_amont: string;
  noeud_aval: string;
  /** `lat, lon`, or null. */
  geo_point_2d: string | null;
  /** Geodesic length of the piece's line(s), 0 when the geometry is unusable. */
  lengthM: number;
  /** First, middle and last vertex ([lon, lat]); null when the geometry is unusable. */
  coords: { first: LonLat; mid: LonLat; last: LonLat } | null;
}

/** Partial (ANY_DAY): pieces per arc id, in file order, and the file they come from. Plain JSON. */
export interface ReferentielPartial {
  /** relPath of the file: pieces of one arc are only summed within one file (see finalize). */
  file?: string;
  pieces: Record<string, ReferentielPiece[]>;
}

/** Vertices of a LineString / MultiLineString (parts concatenated); null unless every vertex is a finite pair. */
export function lineVertices(geometry: unknown): LonLat[] | null {
  if (!geometry || typeof geometry !== 'object') return null;
  const g = geometry as { type?: unknown; coordinates?: unknown };
  let parts: unknown[];
  if (g.type === 'LineString') parts = [g.coordinates];
  else if (g.type === 'MultiLineString' && Array.isArray(g.coordinates)) parts = g.coordinates;
  else return null;
  const out: LonLat[] = [];
  for (const part of parts) {
    if (!Array.isArray(part)) return null;
    for (const v of part) {
      if (!Array.isArray(v) || v.length < 2 || typeof v[0] !== 'number' || typeof v[1] !== 'number' || !Number.isFinite(v[0]) || !Number.isFinite(v[1])) {
        return null;
      }
      out.push([v[0], v[1]]);
    }
  }
  return out.length ? out : null;
}

function pieceGeometry(text: string): { lengthM: number; coords: ReferentielPiece['coords'] } {
  let geometry: unknown;
  try {
    geometry = JSON.parse(text);
  } catch {
    return { lengthM: 0, coords: null };
  }
  const vertices = lineVertices(geometry);
  if (!vertices) return { lengthM: 0, coords: null };
  const lengthM = lineLengthMeters(geometry as { type: string; coordinates: unknown });
  return {
    lengthM: Number.isFinite(lengthM) ? lengthM : 0,
    coords: { first: vertices[0], mid: vertices[Math.floor(vertices.length / 2)], last: vertices[vertices.length - 1] },
  };
}

export function processReferentielChunk(input: ChunkInput): ChunkOutput<ReferentielPartial> {
  const file = input.file.relPath;
  const first = input.range.start === 0;
  const l = (input.range as { firstLine?: unknown }).firstLine;
  const firstLine = first ? 1 : typeof l === 'number' && Number.isInteger(l) && l > 0 ? l : undefined;
  const sc = new CsvScanner(input.bytes, { baseOffset: input.range.start, bom: first, firstLine: firstLine ?? 1 });

  let header: string[] | null;
  if (first) {
    const h = sc.next();
    if (!h) throw new InputFormatError(`referentiel ${file}: empty file, no header`, 'bad_header');
    if (h.error) throw new InputFormatError(`referentiel ${file}: header line ${h.line} has malformed CSV quoting (${h.error})`, 'bad_header');
    header = h.fields;
  } else {
    if (input.header === undefined) throw new InputFormatError(`referentiel ${file}: chunk ${input.range.index} has no header`, 'bad_header');
    header = splitCsvLine(input.header);
    if (!header) throw new InputFormatError(`referentiel ${file}: header has malformed CSV quoting`, 'bad_header');
  }
  const m = matchHeader(header, REFERENTIEL_COLUMNS, REFERENTIEL_REQUIRED_COLUMNS);
  if (m.missing.length) {
    throw new InputFormatError(`referentiel header (${file}): missing column(s) ${m.missing.map((c) => JSON.stringify(c)).join(', ')}`, 'bad_header');
  }
  const ix = m.index as Record<Column, number>;

  const q = emptyQuality();
  const pieces: Record<string, ReferentielPiece[]> = Object.create(null);
  const bad = (r: CsvRecord, reason: string): void => {
    reject(q, firstLine !== undefined ? { file, line: r.line, byteOffset: r.offset, reason } : { file, byteOffset: r.offset, reason });
  };
  for (let r = sc.next(); r; r = sc.next()) {
    q.records++;
    if (r.error) {
      bad(r, 'bad_quoting');
      continue;
    }
    const f = r.fields;
    if (f.length !== m.width) {
      bad(r, 'field_count');
      continue;
    }
    const rawId = f[ix['Identifiant arc']].trim();
    const libelle = f[ix['Libelle']].trim();
    if (!rawId || !libelle) {
      bad(r, 'missing_field');
      continue;
    }
    const id = normalizeArcId(rawId);
    if (id === null) {
      bad(r, 'bad_arc');
      continue;
    }
    const geo = pieceGeometry(f[ix['geo_shape']]);
    const piece: ReferentielPiece = {
      libelle,
      noeud_amont: f[ix['Identifiant noeud amont']].trim(),
      noeud_aval: f[ix['Identifiant noeud aval']].trim(),
      geo_point_2d: normalizeGeoPoint(f[ix['geo_point_2d']]),
      lengthM: geo.lengthM,
      coords: geo.coords,
    };
    (pieces[id] ??= []).push(piece);
    q.accepted++;
  }
  return { partials: { [ANY_DAY]: { file, pieces } }, quality: q };
}

export function finalizeReferentielDay(day: string, partials: ReferentielPartial[], _ctx: FinalizeContext = {}): DayResult<ReferentielMetrics> {
  // Several référentiel files in one run are several snapshots of the same network: an arc takes
  // its pieces from the first file (in the given order) that has it; pieces of the same arc in
  // other files are counted `duplicate_arc` instead of being added to its length.
  const byId = new Map<string, { file: string; pieces: ReferentielPiece[] }>();
  const quality = emptyQuality();
  for (const p of partials) {
    if (!p || !p.pieces) continue;
    const file = p.file ?? '';
    for (const id of Object.keys(p.pieces)) {
      const entry = byId.get(id);
      if (!entry) byId.set(id, { file, pieces: [...p.pieces[id]] });
      else if (entry.file === file) entry.pieces.push(...p.pieces[id]);
      else {
        quality.records += p.pieces[id].length;
        quality.rejected.duplicate_arc = (quality.rejected.duplicate_arc ?? 0) + p.pieces[id].length;
      }
    }
  }
  const ids = [...byId.keys()].sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  const mapping: Record<string, ReferentielArc> = Object.create(null);
  const parArr: Record<string, number> = Object.create(null);
  let total = 0;
  let positive = 0;
  let positiveSum = 0;
  for (const id of ids) {
    const list = byId.get(id)!.pieces;
    const firstPiece = list[0];
    let length = 0;
    for (const piece of list) length += piece.lengthM;
    const center = list.find((p) => p.coords)?.coords?.mid ?? null;
    let arrondissement = HORS_PARIS;
    if (center) arrondissement = arrondissementOf(center[1], center[0]);
    else {
      const pt = parseLatLon(firstPiece.geo_point_2d);
      if (pt) arrondissement = arrondissementOf(pt.lat, pt.lon);
    }
    mapping[id] = {
      libelle: firstPiece.libelle,
      longueur_metres: length,
      noeud_amont: firstPiece.noeud_amont,
      noeud_aval: firstPiece.noeud_aval,
      geo_point_2d: firstPiece.geo_point_2d,
      center: center ? [center[0], center[1]] : null,
      arrondissement,
      troncons: list.length,
      actif: true,
    };
    parArr[arrondissement] = (parArr[arrondissement] ?? 0) + 1;
    total += length;
    if (length > 0) {
      positive++;
      positiveSum += length;
    }
  }
  const par_arrondissement: Record<string, number> = Object.create(null);
  for (const k of Object.keys(parArr).sort()) par_arrondissement[k] = parArr[k];
  const metrics: ReferentielMetrics = {
    date: day,
    mapping,
    statistiques: {
      nombre_troncons: ids.length,
      longueur_totale_metres: total,
      longueur_moyenne_metres: positive ? positiveSum / positive : 0,
      par_arrondissement,
    },
    qualite: quality,
  };
  return { metrics, quality: { ...quality, rejected: { ...quality.rejected }, samples: [] } };
}

/** Arc geography keyed by arc id, as comptages expects it in `FinalizeContext.referentiel`. */
export function referentielLookup(metrics: ReferentielMetrics): Record<string, ReferentielArc> {
  return metrics.mapping;
}

export const referentielHandler: SourceHandler<ReferentielPartial, ReferentielMetrics> = {
  source: 'referentiel',
  splittable: true,
  processChunk: processReferentielChunk,
  finalizeDay: finalizeReferentielDay,
};
