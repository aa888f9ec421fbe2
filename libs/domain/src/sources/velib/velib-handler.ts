/**
 * Source `velib` (new): Vélib' Métropole bike-share availability, from snapshots.
 *
 * Inputs (one or several snapshots per file; JSON Lines hold one snapshot per line):
 *  - GBFS `station_status` `{lastUpdatedOther|last_updated, ttl, data: {stations: [...]}}`;
 *  - GBFS `station_information` (same envelope, stations with name/lat/lon/capacity);
 *    status and information are told apart by the station fields, not by the file name;
 *  - the ODS CSV export `velib-disponibilite-en-temps-reel` (a status snapshot with names and
 *    coordinates; instant = the latest `Actualisation de la donnée` of the file);
 *  - the ODS CSV export `velib-emplacement-des-stations` (station information only);
 *  - the GBFS discovery (`gbfs.json`) and `system_information` files are recognised and ignored
 *    (no station records).
 *
 * A status snapshot belongs to the Paris day of its instant. Station information is not tied to
 * a day: a GBFS `station_information` file yields an ANY_DAY partial, used by every day; the CSV
 * availability export carries its own information inside its day partial. When several
 * information snapshots name a station, the most recent one wins.
 *
 * Per station entry of a status snapshot, in this order (first reason wins):
 *  - `missing_id`: no `stationCode`;
 *  - `bad_value`: bikes/docks (or mechanical/e-bike) counts missing, non-numeric or negative;
 *  - `duplicate`: the same station twice in one snapshot (first kept);
 *  - `not_installed`: `is_installed` = 0 (CSV: `Station en fonctionnement` = NON);
 *  - `never_reported`: `last_reported` missing or 0 (CSV: no `Actualisation de la donnée`);
 *  - `stale_station`: `last_reported` more than 7 days before the snapshot instant.
 * Entries rejected for any of these reasons are left out of every availability statistic.
 * A snapshot without a usable instant has all its entries counted `bad_date`.
 * Information entries: `missing_id` (dropped), `duplicate` (first kept), `missing_coordinates`
 * (kept for the name; the station's arrondissement becomes `Inconnu`).
 *
 * Merge (finalizeDay): status snapshots of D with the same instant are the same snapshot (the
 * file was fetched or stored twice): the first is kept, the entries of the others are counted
 * `duplicate` (with `accepted` lowered by as much).
 *
 * Metrics over the kept station-snapshots of D (means are per station-snapshot; shares in %):
 * `velos_disponibles_moyen`, `velos_mecaniques_moyen` and `velos_electriques_moyen` (over the
 * entries that give the split), `part_stations_vides` (0 bikes), `part_stations_pleines`
 * (0 free docks), `stations_souvent_vides` (top 10 by share of their snapshots empty; stations
 * never empty are not listed), `par_arrondissement` (by the information coordinates;
 * `Hors Paris` for the suburbs, `Inconnu` when the station has no information).
 */
import type { VelibMetrics } from '../../shared/metrics-types';
import { ANY_DAY, type ChunkOutput, type QualityCounts, type RejectSample, emptyQuality, reject } from '../../shared/model';
import { parisDay } from '../../shared/time';
import { arrondissementOf } from '../../geo/geo';
import type { ChunkInput, DayResult, FinalizeContext, SourceHandler } from '../source-handler';
import { type VelibInfoEntry, type VelibRawSnapshot, type VelibStatusRaw, readVelibSnapshots } from './velib-input';

export const VELIB_ARRONDISSEMENT_INCONNU = 'Inconnu';

/** Stable reason codes of the velib source. */
export const VELIB_REASONS = {
  missingId: 'missing_id',
  badValue: 'bad_value',
  badDate: 'bad_date',
  duplicate: 'duplicate',
  notInstalled: 'not_installed',
  neverReported: 'never_reported',
  staleStation: 'stale_station',
  missingCoordinates: 'missing_coordinates',
  outsideDay: 'outside_day',
} as const;

export interface VelibOptions {
  /** A station whose last report is older than this (seconds before the snapshot) is stale. */
  staleAfterSeconds: number;
  /** Length of `stations_souvent_vides`. */
  topN: number;
}

export const VELIB_DEFAULTS: Readonly<VelibOptions> = Object.freeze({ staleAfterSeconds: 7 * 86_400, topN: 10 });

/** Station information (names, coordinates) as of `instant` (unix seconds; 0 when unknown). */
export interface VelibInfoSnapshot {
  instant: number;
  /** [stationCode, name, lat, lon, capacity], sorted by stationCode. */
  stations: [string, string | null, number | null, number | null, number | null][];
}

/** A status snapshot reduced to the station entries usable for statistics. */
export interface VelibStatusSnapshot {
  /** Unix seconds. */
  instant: number;
  file: string;
  /** [stationCode, bikes, docks, mechanical | null, ebike | null], in file order. */
  stations: [string, number, number, number | null, number | null][];
}

/** Partial of one day (status snapshots, maybe information) or of ANY_DAY (information only). Plain JSON. */
export interface VelibPartial {
  info: VelibInfoSnapshot[];
  snapshots: VelibStatusSnapshot[];
}

function compareCodes(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function copyQuality(q: QualityCounts): QualityCounts {
  return { records: q.records, accepted: q.accepted, rejected: { ...q.rejected }, samples: q.samples.map((s) => ({ ...s })) };
}

export function createVelibHandler(options: Partial<VelibOptions> = {}): SourceHandler<VelibPartial, VelibMetrics> {
  const opt: VelibOptions = { ...VELIB_DEFAULTS, ...options };

  function processChunk(input: ChunkInput): ChunkOutput<VelibPartial> {
    const file = input.file.relPath;
    const quality = emptyQuality();
    const rej = (reason: string, line?: number) => {
      const s: RejectSample = { file, reason };
      if (line !== undefined) s.line = line;
      reject(quality, s);
    };
    const partials: Record<string, VelibPartial> = {};
    const partialOf = (key: string) => (partials[key] ??= { info: [], snapshots: [] });

    const { snapshots, rejects } = readVelibSnapshots(input.bytes, file);
    for (const r of rejects) {
      quality.records++;
      rej(r.reason, r.line);
    }

    for (const snap of snapshots) {
      const validInstant = snap.instant !== null && Number.isFinite(snap.instant) && snap.instant > 0;
      const day = validInstant ? parisDay(snap.instant! * 1000) : null;
      if (snap.kind === 'info' || snap.info.length) {
        const info = buildInfo(snap, snap.kind === 'info', quality, rej);
        // GBFS information serves every day; the CSV export's information goes with its snapshot.
        if (info.stations.length) {
          if (snap.kind === 'info') partialOf(ANY_DAY).info.push(info);
          else if (day) partialOf(day).info.push(info);
        }
      }
      if (snap.kind !== 'status') continue;
      const kept: VelibStatusSnapshot['stations'] = [];
      const seen = new Set<string>();
      for (const e of snap.status) {
        quality.records++;
        const reason = statusReason(e, validInstant ? snap.instant! : null, seen, opt);
        if (reason) {
          rej(reason, e.line);
          continue;
        }
        quality.accepted++;
        kept.push([e.code!, e.bikes, e.docks, e.mechanical, e.ebike]);
      }
      if (day && (kept.length || snap.status.length)) {
        partialOf(day).snapshots.push({ instant: snap.instant!, file, stations: kept });
      }
    }
    return { partials, quality };
  }

  function finalizeDay(day: string, partials: VelibPartial[], _ctx: FinalizeContext): DayResult<VelibMetrics> {
    const quality = emptyQuality();
    const mergeFile = `merge:${day}`;

    // Station information: the most recent snapshot naming a station wins (stable on ties).
    const infos = partials.flatMap((p) => p?.info ?? []);
    const order = infos.map((_, i) => i).sort((a, b) => infos[b].instant - infos[a].instant || a - b);
    const info = new Map<string, { name: string | null; lat: number | null; lon: number | null }>();
    for (const i of order) {
      for (const [code, name, lat, lon] of infos[i].stations) {
        const cur = info.get(code);
        if (!cur) info.set(code, { name, lat, lon });
        else {
          if (cur.name === null && name !== null) cur.name = name;
          if ((cur.lat === null || cur.lon === null) && lat !== null && lon !== null) {
            cur.lat = lat;
            cur.lon = lon;
          }
        }
      }
    }

    // Status snapshots of D, one per instant.
    const instants = new Set<number>();
    const snaps: VelibStatusSnapshot[] = [];
    for (const p of partials) {
      for (const s of p?.snapshots ?? []) {
        const n = s.stations.length;
        const reason = parisDay(s.instant * 1000) !== day ? VELIB_REASONS.outsideDay : instants.has(s.instant) ? VELIB_REASONS.duplicate : null;
        if (reason) {
          for (let i = 0; i < n; i++) reject(quality, { file: s.file ?? mergeFile, reason });
          quality.accepted -= n;
          continue;
        }
        instants.add(s.instant);
        snaps.push(s);
      }
    }

    let entries = 0;
    let bikes = 0;
    let mech = 0;
    let ebike = 0;
    let split = 0;
    let empty = 0;
    let full = 0;
    const perStation = new Map<string, { n: number; empty: number; bikes: number }>();
    for (const s of snaps) {
      for (const [code, b, d, m, e] of s.stations) {
        entries++;
        bikes += b;
        if (m !== null && e !== null) {
          mech += m;
          ebike += e;
          split++;
        }
        if (b === 0) empty++;
        if (d === 0) full++;
        let st = perStation.get(code);
        if (!st) perStation.set(code, (st = { n: 0, empty: 0, bikes: 0 }));
        st.n++;
        st.bikes += b;
        if (b === 0) st.empty++;
      }
    }

    const codes = [...perStation.keys()].sort(compareCodes);
    const souvent = codes
      .map((code) => ({ code, ...perStation.get(code)! }))
      .filter((s) => s.empty > 0)
      .sort((a, b) => b.empty / b.n - a.empty / a.n || b.empty - a.empty || compareCodes(a.code, b.code))
      .slice(0, opt.topN)
      .map((s) => ({ station_code: s.code, nom: info.get(s.code)?.name ?? null, part_vide: (s.empty / s.n) * 100 }));

    const arr = new Map<string, { stations: number; n: number; bikes: number; empty: number }>();
    for (const code of codes) {
      const st = perStation.get(code)!;
      const i = info.get(code);
      const a = i && i.lat !== null && i.lon !== null ? arrondissementOf(i.lat, i.lon) : VELIB_ARRONDISSEMENT_INCONNU;
      let acc = arr.get(a);
      if (!acc) arr.set(a, (acc = { stations: 0, n: 0, bikes: 0, empty: 0 }));
      acc.stations++;
      acc.n += st.n;
      acc.bikes += st.bikes;
      acc.empty += st.empty;
    }
    const par_arrondissement: VelibMetrics['par_arrondissement'] = {};
    for (const k of [...arr.keys()].sort()) {
      const a = arr.get(k)!;
      par_arrondissement[k] = { stations: a.stations, velos_disponibles_moyen: a.bikes / a.n, part_vide: (a.empty / a.n) * 100 };
    }

    const ratio = (x: number, n: number) => (n > 0 ? x / n : 0);
    const metrics: VelibMetrics = {
      date: day,
      snapshots: snaps.length,
      stations: perStation.size,
      velos_disponibles_moyen: ratio(bikes, entries),
      velos_mecaniques_moyen: ratio(mech, split),
      velos_electriques_moyen: ratio(ebike, split),
      part_stations_vides: ratio(empty, entries) * 100,
      part_stations_pleines: ratio(full, entries) * 100,
      stations_souvent_vides: souvent,
      par_arrondissement,
      qualite: copyQuality(quality),
    };
    return { metrics, quality };
  }

  return { source: 'velib', splittable: false, processChunk, finalizeDay };
}

function statusReason(e: VelibStatusRaw, instant: number | null, seen: Set<string>, opt: VelibOptions): string | null {
  if (e.code === null) return VELIB_REASONS.missingId;
  if (!ok(e.bikes) || !ok(e.docks) || (e.mechanical !== null && !ok(e.mechanical)) || (e.ebike !== null && !ok(e.ebike))) {
    return VELIB_REASONS.badValue;
  }
  if (instant === null) return VELIB_REASONS.badDate;
  if (seen.has(e.code)) return VELIB_REASONS.duplicate;
  seen.add(e.code);
  if (!e.installed) return VELIB_REASONS.notInstalled;
  if (e.lastReported === null || !Number.isFinite(e.lastReported) || e.lastReported <= 0) return VELIB_REASONS.neverReported;
  if (e.lastReported < instant - opt.staleAfterSeconds) return VELIB_REASONS.staleStation;
  return null;
}

function ok(n: number | null): n is number {
  return n !== null && Number.isFinite(n) && n >= 0;
}

function buildInfo(
  snap: VelibRawSnapshot,
  count: boolean,
  quality: QualityCounts,
  rej: (reason: string, line?: number) => void,
): VelibInfoSnapshot {
  const byCode = new Map<string, VelibInfoEntry>();
  for (const e of snap.info) {
    // The CSV availability export's rows are counted once, as status entries.
    if (count) quality.records++;
    if (e.code === null) {
      if (count) rej(VELIB_REASONS.missingId, e.line);
      continue;
    }
    if (byCode.has(e.code)) {
      if (count) rej(VELIB_REASONS.duplicate, e.line);
      continue;
    }
    byCode.set(e.code, e);
    if (!count) continue;
    if (e.lat === null || e.lon === null) rej(VELIB_REASONS.missingCoordinates, e.line);
    else quality.accepted++;
  }
  const instant = snap.instant !== null && Number.isFinite(snap.instant) ? snap.instant : 0;
  return {
    instant,
    stations: [...byCode.keys()]
      .sort(compareCodes)
      .map((code) => {
        const e = byCode.get(code)!;
        return [code, e.name, e.lat, e.lon, e.capacity];
      }),
  };
}

/** The velib handler with the default thresholds. */
export const velibHandler: SourceHandler<VelibPartial, VelibMetrics> = createVelibHandler();
