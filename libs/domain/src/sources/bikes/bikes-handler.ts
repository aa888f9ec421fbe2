/**
 * Source `bikes`: Paris bike COUNTERS (`comptage-velo-donnees-compteurs`), not Vélib'.
 *
 * Time rule (SPEC §3): a record stamped T counts the hour ENDING at T, i.e. the hour starting at
 * T − 1 h, and belongs to that hour's Europe/Paris day.
 *
 * Per record (processChunk), in this order:
 *  - `missing_id`: no `id_compteur`;
 *  - `bad_date`: `date` is not ISO 8601 with an offset;
 *  - `bad_count`: `sum_counts` missing, non-numeric or negative;
 *  - `duplicate`: a second record for the same (counter, hour) in the file — the first is kept;
 *  - `missing_coordinates`: no usable coordinates. The record is NOT dropped: its count is used, and
 *    the counter takes the coordinates of any other record of it (same file, other files of the
 *    day, or the counter's metrics of the 7 previous days). A counter whose coordinates stay
 *    unknown is kept with arrondissement `Inconnu` and coordinates {lon: 0, lat: 0}. Such a record
 *    is counted under `rejected.missing_coordinates` (not under `accepted`) so that
 *    records = accepted + Σ rejected still holds.
 *
 * Merge (finalizeDay): the partials of every file of the day are merged; a (counter, hour) seen in
 * an earlier partial wins and each later copy is counted `duplicate` in the day's merge-level
 * quality, with `accepted` lowered by the same amount (so that merging the chunk counts with the
 * merge counts keeps records = accepted + Σ rejected).
 *
 * Failing counters (`capteurs_defaillants`, `failing_sensors`), each with its reasons:
 *  - `comptages_nuls`: every count of the counter on D is 0;
 *  - `valeur_constante`: a run of ≥ 12 consecutive hours (no gap) with the same non-zero count;
 *  - `heures_manquantes`: more than 6 hours of D without a record (hoursInDay(D) − heures_presentes > 6).
 * As in the old system, failing counters are left out of `metrics`, `top_counters`, `total_velos`,
 * `par_arrondissement`, `profil_horaire` and `frequentation_index`.
 *
 * Anomalies: with the counter's `total_jour` in the bikes metrics of D−1 … D−7 (from
 * `ctx.history`, day-string keys), mean over the days where it appears; anomaly when that mean
 * is > 0 and |total − mean| / mean × 100 > 300.
 *
 * `frequentation_index` = min(100, total_velos / 100 000 × 100): the old system's arbitrary
 * normaliser, kept only for compatibility of the key.
 */
import type { BikeMetric, BikesMetrics, FailingSensor } from '../../shared/metrics-types';
import { type ChunkOutput, type QualityCounts, type RejectSample, emptyQuality, reject } from '../../shared/model';
import { HOUR_MS, addDays, hoursInDay, parisDay, parisMidnight, parseIsoWithOffset, toParisIso } from '../../shared/time';
import { arrondissementOf, parseLatLon } from '../../geo/geo';
import type { ChunkInput, DayResult, FinalizeContext, SourceHandler } from '../source-handler';
import { type RawBikeRecord, readBikeRecords } from './bikes-input';

/** Arrondissement of a counter whose coordinates are unknown. */
export const BIKE_ARRONDISSEMENT_INCONNU = 'Inconnu';

/** Stable reason codes of the bikes source. */
export const BIKE_REASONS = {
  missingId: 'missing_id',
  badDate: 'bad_date',
  badCount: 'bad_count',
  duplicate: 'duplicate',
  missingCoordinates: 'missing_coordinates',
  badColumnCount: 'bad_column_count',
  badRecord: 'bad_record',
  unknownShape: 'unknown_shape',
  outsideDay: 'outside_day',
} as const;

/** Reasons given in `capteurs_defaillants[].raisons`. */
export const BIKE_FAILING_REASONS = {
  zero: 'comptages_nuls',
  constant: 'valeur_constante',
  missingHours: 'heures_manquantes',
} as const;

export interface BikesOptions {
  /** Anomaly when the day's total is off the trailing mean by more than this many percent. */
  anomalyPercent: number;
  /** Days of history for the trailing mean (D−1 … D−n). */
  historyDays: number;
  /** A run of at least this many consecutive hours with the same non-zero count marks a failing counter. */
  constantRunHours: number;
  /** More than this many hours of D without a record marks a failing counter. */
  maxMissingHours: number;
  /** Length of `top_counters`. */
  topN: number;
  /** Old system's normaliser for `frequentation_index`. */
  frequentationNormaliser: number;
}

export const BIKES_DEFAULTS: Readonly<BikesOptions> = Object.freeze({
  anomalyPercent: 300,
  historyDays: 7,
  constantRunHours: 12,
  maxMissingHours: 6,
  topN: 10,
  frequentationNormaliser: 100_000,
});

/** One counter's records of one day in one file. Plain JSON. */
export interface BikeCounterPartial {
  id: string;
  nom: string | null;
  /** [lon, lat], or null when no record of the counter in the file had usable coordinates. */
  coords: [number, number] | null;
  /** [hour start (epoch ms), count], sorted by hour, one entry per hour. */
  hours: [number, number][];
}

/** Partial of one Paris day for one file (or chunk): counters sorted by id. */
export interface BikesPartial {
  counters: BikeCounterPartial[];
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v.trim());
  return NaN;
}

function text(v: unknown): string | null {
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? null : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function validLonLat(lon: number, lat: number): [number, number] | null {
  if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  if (lon === 0 && lat === 0) return null;
  return [lon, lat];
}

/** `{lon, lat}` (API v2.1), `[lat, lon]` (API v1) or `"lat,lon"` (CSV) → [lon, lat]. */
export function parseBikeCoordinates(v: unknown): [number, number] | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    const p = parseLatLon(v);
    return p ? validLonLat(p.lon, p.lat) : null;
  }
  if (Array.isArray(v)) return v.length === 2 ? validLonLat(toNumber(v[1]), toNumber(v[0])) : null;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return validLonLat(toNumber(o.lon), toNumber(o.lat));
  }
  return null;
}

interface CounterAcc {
  nom: string | null;
  hours: Map<number, number>;
}

export function createBikesHandler(options: Partial<BikesOptions> = {}): SourceHandler<BikesPartial, BikesMetrics> {
  const opt: BikesOptions = { ...BIKES_DEFAULTS, ...options };

  function processChunk(input: ChunkInput): ChunkOutput<BikesPartial> {
    const file = input.file.relPath;
    const quality = emptyQuality();
    const days = new Map<string, Map<string, CounterAcc>>();
    const coordsById = new Map<string, [number, number]>();
    const seen = new Set<string>();
    const header = input.range.start > 0 ? input.header : undefined;

    const rej = (reason: string, at: { line?: number; byteOffset?: number }) => {
      const s: RejectSample = { file, reason };
      if (at.line !== undefined) s.line = at.line;
      if (at.byteOffset !== undefined) s.byteOffset = at.byteOffset;
      reject(quality, s);
    };

    const onRecord = (r: RawBikeRecord) => {
      quality.records++;
      const id = text(r.id);
      if (id === null) return rej(BIKE_REASONS.missingId, r);
      const stamp = typeof r.date === 'string' ? parseIsoWithOffset(r.date.trim()) : NaN;
      if (!Number.isFinite(stamp)) return rej(BIKE_REASONS.badDate, r);
      const count = toNumber(r.count);
      if (!Number.isFinite(count) || count < 0) return rej(BIKE_REASONS.badCount, r);
      const hourStart = stamp - HOUR_MS;
      const key = `${id}\u0000${hourStart}`;
      if (seen.has(key)) return rej(BIKE_REASONS.duplicate, r);
      seen.add(key);

      const coords = parseBikeCoordinates(r.coordinates);
      if (coords) {
        if (!coordsById.has(id)) coordsById.set(id, coords);
        quality.accepted++;
      } else {
        rej(BIKE_REASONS.missingCoordinates, r);
      }

      const day = parisDay(hourStart);
      let counters = days.get(day);
      if (!counters) days.set(day, (counters = new Map()));
      let acc = counters.get(id);
      if (!acc) counters.set(id, (acc = { nom: null, hours: new Map() }));
      if (acc.nom === null) acc.nom = text(r.nom) ?? text(r.siteName);
      acc.hours.set(hourStart, count);
    };

    readBikeRecords(
      input.bytes,
      file,
      { record: onRecord, reject: (r) => (quality.records++, rej(r.reason, r)) },
      header,
      input.range.start,
    );

    const partials: Record<string, BikesPartial> = {};
    for (const day of [...days.keys()].sort()) {
      const counters = days.get(day)!;
      partials[day] = {
        counters: [...counters.keys()].sort().map((id) => {
          const acc = counters.get(id)!;
          return {
            id,
            nom: acc.nom,
            coords: coordsById.get(id) ?? null,
            hours: [...acc.hours.entries()].sort((a, b) => a[0] - b[0]),
          };
        }),
      };
    }
    return { partials, quality };
  }

  function finalizeDay(day: string, partials: BikesPartial[], ctx: FinalizeContext): DayResult<BikesMetrics> {
    const quality = emptyQuality();
    const dayStart = parisMidnight(day);
    const nHours = hoursInDay(day);
    const dayEnd = dayStart + nHours * HOUR_MS;

    // Merge: first (counter, hour) wins, in the given partial order.
    const counters = new Map<string, { nom: string | null; coords: [number, number] | null; hours: Map<number, number> }>();
    for (const p of partials) {
      for (const c of p?.counters ?? []) {
        let m = counters.get(c.id);
        if (!m) counters.set(c.id, (m = { nom: null, coords: null, hours: new Map() }));
        if (m.nom === null && c.nom) m.nom = c.nom;
        if (m.coords === null && c.coords) m.coords = c.coords;
        for (const [hs, n] of c.hours) {
          if (!(hs >= dayStart && hs < dayEnd) || !Number.isFinite(n)) {
            reject(quality, { file: `merge:${day}`, reason: BIKE_REASONS.outsideDay });
            quality.accepted--;
            continue;
          }
          if (m.hours.has(hs)) {
            reject(quality, { file: `merge:${day}`, reason: BIKE_REASONS.duplicate });
            quality.accepted--;
            continue;
          }
          m.hours.set(hs, n);
        }
      }
    }

    // History: totals and known coordinates of D−1 … D−n.
    const historyTotals: Map<string, number>[] = [];
    const historyCoords = new Map<string, [number, number]>();
    for (let i = 1; i <= opt.historyDays; i++) {
      const doc = ctx.history?.[addDays(day, -i)] as Partial<BikesMetrics> | undefined;
      if (!doc || !Array.isArray(doc.metrics)) continue;
      const totals = new Map<string, number>();
      for (const m of doc.metrics) {
        if (!m || typeof m.id_compteur !== 'string') continue;
        if (typeof m.total_jour === 'number' && Number.isFinite(m.total_jour)) totals.set(m.id_compteur, m.total_jour);
        if (!historyCoords.has(m.id_compteur) && m.arrondissement !== BIKE_ARRONDISSEMENT_INCONNU && m.coordinates) {
          const c = validLonLat(m.coordinates.lon, m.coordinates.lat);
          if (c) historyCoords.set(m.id_compteur, c);
        }
      }
      historyTotals.push(totals);
    }

    const metrics: BikeMetric[] = [];
    const failing: FailingSensor[] = [];
    const anomalies: BikesMetrics['anomalies'] = [];
    const profile = new Array<number>(nHours).fill(0);
    const parArr: Record<string, number> = {};

    for (const id of [...counters.keys()].sort()) {
      const c = counters.get(id)!;
      const hours = [...c.hours.entries()].sort((a, b) => a[0] - b[0]);
      if (hours.length === 0) continue;
      let total = 0;
      let peak = hours[0];
      for (const h of hours) {
        total += h[1];
        if (h[1] > peak[1]) peak = h;
      }
      const nom = c.nom ?? id;

      const raisons: string[] = [];
      if (total === 0) raisons.push(BIKE_FAILING_REASONS.zero);
      if (hasConstantBikeRun(hours, opt.constantRunHours)) raisons.push(BIKE_FAILING_REASONS.constant);
      if (nHours - hours.length > opt.maxMissingHours) raisons.push(BIKE_FAILING_REASONS.missingHours);
      if (raisons.length) {
        failing.push({ id_compteur: id, type: 'bike', libelle: nom, raisons });
        continue;
      }

      const coords = c.coords ?? historyCoords.get(id) ?? null;
      const arrondissement = coords ? arrondissementOf(coords[1], coords[0]) : BIKE_ARRONDISSEMENT_INCONNU;

      let anomalie = false;
      const past = historyTotals.map((t) => t.get(id)).filter((v): v is number => v !== undefined);
      if (past.length) {
        const mean = past.reduce((a, b) => a + b, 0) / past.length;
        if (mean > 0) {
          const ecart = ((total - mean) / mean) * 100;
          if (Math.abs(ecart) > opt.anomalyPercent) {
            anomalie = true;
            anomalies.push({ id_compteur: id, total_jour: total, moyenne_7j: mean, ecart_pourcent: ecart });
          }
        }
      }

      metrics.push({
        date: day,
        id_compteur: id,
        nom_compteur: nom,
        total_jour: total,
        heures_presentes: hours.length,
        moyenne_horaire: total / hours.length,
        pic_horaire: peak[1] > 0 ? toParisIso(peak[0]) : null,
        arrondissement,
        coordinates: coords ? { lon: coords[0], lat: coords[1] } : { lon: 0, lat: 0 },
        anomalie_detectee: anomalie,
      });
      parArr[arrondissement] = (parArr[arrondissement] ?? 0) + total;
      for (const [hs, n] of hours) profile[Math.floor((hs - dayStart) / HOUR_MS)] += n;
    }

    const total_velos = metrics.reduce((a, m) => a + m.total_jour, 0);
    const top_counters = [...metrics]
      .sort((a, b) => b.total_jour - a.total_jour || (a.id_compteur < b.id_compteur ? -1 : a.id_compteur > b.id_compteur ? 1 : 0))
      .slice(0, opt.topN);
    const par_arrondissement: Record<string, number> = {};
    for (const k of Object.keys(parArr).sort()) par_arrondissement[k] = parArr[k];

    const doc: BikesMetrics = {
      date: day,
      metrics,
      failing_sensors: failing.map((f) => f.id_compteur),
      capteurs_defaillants: failing,
      anomalies,
      top_counters,
      total_velos,
      par_arrondissement,
      profil_horaire: profile.map((total, i) => ({ heure: toParisIso(dayStart + i * HOUR_MS), total })),
      frequentation_index: Math.min(100, (total_velos / opt.frequentationNormaliser) * 100),
      qualite: copyQuality(quality),
    };
    return { metrics: doc, quality };
  }

  return { source: 'bikes', splittable: false, processChunk, finalizeDay };
}

/** Whether `hours` (sorted) hold a run of ≥ `minRun` consecutive hours with one non-zero value. */
export function hasConstantBikeRun(hours: [number, number][], minRun: number): boolean {
  let run = 0;
  for (let i = 0; i < hours.length; i++) {
    const [hs, n] = hours[i];
    if (n === 0) run = 0;
    else if (i > 0 && run > 0 && hours[i - 1][1] === n && hs - hours[i - 1][0] === HOUR_MS) run++;
    else run = 1;
    if (run >= minRun) return true;
  }
  return false;
}

function copyQuality(q: QualityCounts): QualityCounts {
  return { records: q.records, accepted: q.accepted, rejected: { ...q.rejected }, samples: q.samples.map((s) => ({ ...s })) };
}

/** The bikes (counters) handler with the default thresholds. */
export const bikesHandler: SourceHandler<BikesPartial, BikesMetrics> = createBikesHandler();
