/**
 * comptages: merge a day's partials and compute the metric document (SPEC §4).
 *
 * Determinism: partials are merged in the order given (file, chunk), the first (arc, hour) wins;
 * every sum runs in hour order within an arc and in numeric arc-id order across arcs, so the
 * numbers do not depend on how the file was cut into chunks.
 */
import { arrondissementOf, HORS_PARIS, legacyZoneFallback, parseLatLon } from '../../geo/geo';
import type {
  ArcMetric,
  ComptagesGlobal,
  ComptagesMetrics,
  CongestionPeriod,
  EtatTrafic,
  FailingSensor,
  ReferentielArc,
  ZoneMetric,
} from '../../shared/metrics-types';
import { emptyQuality, QualityCounts } from '../../shared/model';
import { HOUR_MS, hoursInDay, parisMidnight, toParisIso as toParisIsoUncached } from '../../shared/time';
import type { DayResult, FinalizeContext } from '../source-handler';
import {
  ComptagesThresholds,
  DEFAULT_COMPTAGES_THRESHOLDS,
  ETATS_TRAFIC,
  MAX_CONGESTION_ALERTS,
  RAISON_DEBIT_CONSTANT,
  RAISON_SANS_DEBIT,
  REFERENCE_SPEED_KMH,
  speedForOccupancy,
  TOP_ARCS,
  TOP_ARCS_PER_ZONE,
  TOP_ZONES,
} from './constants';
import type { ComptagesPartial } from './partial';

/** Hour slots per arc in a merged day (a Paris day has 23, 24 or 25 hours). */
const SLOTS = 25;

interface MergedArc {
  id: string;
  libelle: string;
  geo: string | null;
  /** First slot of the arc in the day's columns: hour h of the arc is slot `base + h`. */
  base: number;
}

/**
 * One Paris day, merged: per arc, one slot per hour of the day. `present[s]` is 1 when the hour
 * was measured; débit / taux are NaN when the cell was empty.
 */
export interface MergedDay {
  arcs: MergedArc[];
  present: Uint8Array;
  debit: Float64Array;
  taux: Float64Array;
  etat: Uint8Array;
  quality: QualityCounts;
}

// Peak hours and period bounds are whole hours shared by many arcs: memoise their ISO text.
const isoCache = new Map<number, string>();
function toParisIso(instantMs: number): string {
  let s = isoCache.get(instantMs);
  if (s === undefined) {
    s = toParisIsoUncached(instantMs);
    if (isoCache.size >= 100_000) isoCache.clear();
    isoCache.set(instantMs, s);
  }
  return s;
}

/**
 * Merge a day's partials in the order given (file, chunk); the first row of an (arc, hour) wins,
 * later ones are counted `duplicate_hour`. Arc label and point: the first non-empty in that order.
 * Arcs come out in numeric id order.
 */
export function mergeComptagesPartials(partials: ComptagesPartial[]): MergedDay {
  const quality = emptyQuality();
  const slotOf = new Map<string, number>();
  const arcs: MergedArc[] = [];
  // Arcs first (their slots), then the rows.
  const maps: Int32Array[] = [];
  for (const p of partials) {
    const map = new Int32Array(p.arcs.length);
    p.arcs.forEach((src, i) => {
      let k = slotOf.get(src.id);
      if (k === undefined) {
        k = arcs.length;
        arcs.push({ id: src.id, libelle: src.libelle, geo: src.geo_point_2d ?? null, base: 0 });
        slotOf.set(src.id, k);
      } else {
        const arc = arcs[k];
        if (arc.geo === null && src.geo_point_2d) arc.geo = src.geo_point_2d;
        if (arc.libelle === '' && src.libelle) arc.libelle = src.libelle;
      }
      map[i] = k;
    });
    maps.push(map);
  }
  // Numeric id order fixes every later sum's order; `base` follows it.
  const num = arcs.map((a) => Number(a.id));
  const order = arcs.map((_, k) => k).sort((x, y) => num[x] - num[y] || (arcs[x].id < arcs[y].id ? -1 : arcs[x].id > arcs[y].id ? 1 : 0));
  const rank = new Int32Array(arcs.length);
  order.forEach((k, r) => (rank[k] = r));
  const n = arcs.length * SLOTS;
  const present = new Uint8Array(n);
  const debit = new Float64Array(n);
  const taux = new Float64Array(n);
  const etat = new Uint8Array(n);
  partials.forEach((p, pi) => {
    const map = maps[pi];
    for (let r = 0; r < p.rows; r++) {
      const s = rank[map[p.arc[r]]] * SLOTS + p.hour[r];
      if (present[s]) {
        quality.records++;
        quality.rejected.duplicate_hour = (quality.rejected.duplicate_hour ?? 0) + 1;
        continue;
      }
      present[s] = 1;
      debit[s] = p.debit[r];
      taux[s] = p.taux[r];
      etat[s] = p.etat[r];
    }
  });
  const sorted = order.map((k) => arcs[k]);
  sorted.forEach((a, r) => (a.base = r * SLOTS));
  return { arcs: sorted, present, debit, taux, etat, quality };
}

interface ArcComputed {
  metric: ArcMetric;
  /** Hours with a débit value. */
  debitHours: number;
  failing: string[];
}

/** Where an arc lies: its arrondissement, the old system's zone, and its point as published. */
interface Placement {
  arrondissement: string;
  zone_fallback: string;
  geo_point_2d: string | null;
}

// Arcs keep their position from day to day: memoise the placement (point-in-polygon lookups).
const placements = new Map<string, Placement>();
function placeArc(geo: string | null, ref: ReferentielArc | undefined): Placement {
  const key = geo !== null ? geo : `ref\u0000${ref?.center?.join(',') ?? ''}\u0000${ref?.geo_point_2d ?? ''}`;
  let p = placements.get(key);
  if (p === undefined) {
    let lat = NaN;
    let lon = NaN;
    const pt = parseLatLon(geo);
    if (pt) {
      lat = pt.lat;
      lon = pt.lon;
    } else if (ref?.center) {
      lon = ref.center[0];
      lat = ref.center[1];
    }
    const hasCoords = Number.isFinite(lat) && Number.isFinite(lon);
    p = {
      arrondissement: hasCoords ? arrondissementOf(lat, lon) : HORS_PARIS,
      zone_fallback: hasCoords ? legacyZoneFallback(lat, lon) : 'Unknown',
      geo_point_2d: geo ?? (ref?.geo_point_2d ? normalizeGeo(ref.geo_point_2d) : null),
    };
    if (placements.size >= 50_000) placements.clear();
    placements.set(key, p);
  }
  return p;
}

function computeArc(day: string, arc: MergedArc, m: MergedDay, midnight: number, ref: ReferentielArc | undefined, t: ComptagesThresholds, dayHours: number): ArcComputed {
  let total = 0;
  let nDebit = 0;
  let max = 0;
  let peakStart: number | null = null;
  let tauxSum = 0;
  let nTaux = 0;
  let measured = 0;
  // Hours per état, indexed like ETATS_TRAFIC (the `etat` column's codes).
  const etatCount = [0, 0, 0, 0, 0];

  const lengthM = ref && ref.longueur_metres > 0 ? ref.longueur_metres : t.defaultArcLengthM;
  const lengthSource: ArcMetric['longueur_source'] = ref && ref.longueur_metres > 0 ? 'referentiel' : 'defaut';
  const lkm = lengthM / 1000;
  const refMinutes = (60 * lkm) / REFERENCE_SPEED_KMH;
  let lostTotal = 0;
  let lostPerVehSum = 0;

  const periods: CongestionPeriod[] = [];
  let runStart = 0;
  let runLen = 0;
  let runMax = 0;
  let prevStart = NaN;
  const closeRun = () => {
    if (runLen >= t.congestionMinHours) {
      periods.push({
        debut: toParisIso(runStart),
        fin: toParisIso(runStart + runLen * HOUR_MS),
        duree_heures: runLen,
        taux_max: runMax,
        severite: runMax >= t.critical ? 'Critique' : 'Élevée',
      });
    }
    runLen = 0;
  };

  let constLen = 0;
  let constVal = NaN;
  let constPrev = NaN;
  let constantFlow = false;

  for (let h = 0; h < dayHours; h++) {
    const slot = arc.base + h;
    if (!m.present[slot]) continue;
    const start = midnight + h * HOUR_MS;
    const debit = Number.isNaN(m.debit[slot]) ? null : m.debit[slot];
    const taux = Number.isNaN(m.taux[slot]) ? null : m.taux[slot];
    etatCount[m.etat[slot]]++;
    if (debit !== null || taux !== null) measured++;
    if (debit !== null) {
      total += debit;
      nDebit++;
      if (peakStart === null || debit > max) {
        max = debit;
        peakStart = start;
      }
      // Same non-zero flow on consecutive hours.
      if (debit !== 0 && debit === constVal && start === constPrev + HOUR_MS) constLen++;
      else {
        constLen = debit !== 0 ? 1 : 0;
        constVal = debit;
      }
      constPrev = start;
      if (constLen >= t.constantFlowHours) constantFlow = true;
    } else {
      constLen = 0;
      constVal = NaN;
    }
    if (taux !== null) {
      tauxSum += taux;
      nTaux++;
      const lost = Math.max(0, (60 * lkm) / speedForOccupancy(taux) - refMinutes);
      lostPerVehSum += lost;
      lostTotal += lost * (debit ?? 0);
    }
    if (taux !== null && taux >= t.congestion) {
      if (runLen > 0 && start === prevStart + HOUR_MS) {
        runLen++;
        if (taux > runMax) runMax = taux;
      } else {
        closeRun();
        runStart = start;
        runLen = 1;
        runMax = taux;
      }
    } else closeRun();
    prevStart = start;
  }
  closeRun();

  let dominant: EtatTrafic = 'Inconnu';
  let best = -1;
  for (let e = 0; e < ETATS_TRAFIC.length; e++) {
    // ETATS_TRAFIC goes from the least to the most severe: `>=` gives ties to the more severe.
    if (etatCount[e] > 0 && etatCount[e] >= best) {
      best = etatCount[e];
      dominant = ETATS_TRAFIC[e];
    }
  }

  const place = placeArc(arc.geo, ref);

  const alert = periods.length > 0;
  const metric: ArcMetric = {
    date: day,
    identifiant_arc: arc.id,
    libelle: arc.libelle,
    debit_horaire_moyen: nDebit ? total / nDebit : 0,
    debit_journalier_total: total,
    debit_max: max,
    heure_pic: peakStart === null ? null : toParisIso(peakStart),
    taux_occupation_moyen: nTaux ? tauxSum / nTaux : null,
    etat_trafic_dominant: dominant,
    heures_mesurees: measured,
    longueur_metres: lengthM,
    longueur_source: lengthSource,
    temps_perdu_minutes: total > 0 ? lostTotal / total : nTaux ? lostPerVehSum / nTaux : 0,
    temps_perdu_total_minutes: lostTotal,
    congestion_alerte: alert,
    severite: periods.some((p) => p.severite === 'Critique') ? 'Critique' : alert ? 'Élevée' : null,
    congestion_periodes: periods,
    arrondissement: place.arrondissement,
    zone_fallback: place.zone_fallback,
    geo_point_2d: place.geo_point_2d,
  };
  const failing: string[] = [];
  if (dayHours - nDebit > t.failingMissingHours) failing.push(RAISON_SANS_DEBIT);
  if (constantFlow) failing.push(RAISON_DEBIT_CONSTANT);
  return { metric, debitHours: nDebit, failing };
}

function normalizeGeo(text: string): string | null {
  const p = text.indexOf(',');
  if (p < 0) return null;
  return `${text.slice(0, p).trim()}, ${text.slice(p + 1).trim()}`;
}

/** The first `n` arcs by `key` descending, ties by numeric arc id (one pass, no full sort). */
function topArcs(arcs: ArcMetric[], key: (a: ArcMetric) => number, n: number): ArcMetric[] {
  const top: ArcMetric[] = [];
  if (n <= 0) return top;
  const keys: number[] = [];
  const ids: number[] = [];
  for (const a of arcs) {
    const k = key(a);
    const last = top.length - 1;
    if (top.length === n && (k < keys[last] || (k === keys[last] && Number(a.identifiant_arc) > ids[last]))) continue;
    const id = Number(a.identifiant_arc);
    let i = top.length < n ? top.length : last;
    // Shift down the entries `a` goes before.
    while (i > 0 && (k > keys[i - 1] || (k === keys[i - 1] && id < ids[i - 1]))) {
      top[i] = top[i - 1];
      keys[i] = keys[i - 1];
      ids[i] = ids[i - 1];
      i--;
    }
    top[i] = a;
    keys[i] = k;
    ids[i] = id;
  }
  return top;
}

export function finalizeComptagesDay(
  day: string,
  partials: ComptagesPartial[],
  ctx: FinalizeContext,
  thresholds: ComptagesThresholds = DEFAULT_COMPTAGES_THRESHOLDS,
): DayResult<ComptagesMetrics> {
  const merged = mergeComptagesPartials(partials);
  const { arcs, quality } = merged;
  const dayHours = hoursInDay(day);
  const midnight = parisMidnight(day);
  const ref = ctx.referentiel;

  const metrics: ArcMetric[] = [];
  const failing: FailingSensor[] = [];
  const etatHours = [0, 0, 0, 0, 0]; // by ETATS_TRAFIC code
  const profDebit = new Array<number>(dayHours).fill(0);
  const profTauxSum = new Array<number>(dayHours).fill(0);
  const profTauxN = new Array<number>(dayHours).fill(0);
  const profArcs = new Array<number>(dayHours).fill(0);
  let tauxSum = 0;
  let tauxN = 0;

  for (const arc of arcs) {
    const r = ref && Object.prototype.hasOwnProperty.call(ref, arc.id) ? ref[arc.id] : undefined;
    const c = computeArc(day, arc, merged, midnight, r, thresholds, dayHours);
    metrics.push(c.metric);
    if (c.failing.length) failing.push({ id_compteur: arc.id, type: 'road', libelle: arc.libelle, raisons: c.failing });
    for (let i = 0; i < dayHours; i++) {
      const slot = arc.base + i;
      if (!merged.present[slot]) continue;
      const debit = merged.debit[slot];
      const taux = merged.taux[slot];
      etatHours[merged.etat[slot]]++;
      if (!Number.isNaN(debit)) profDebit[i] += debit;
      if (!Number.isNaN(taux)) {
        tauxSum += taux;
        tauxN++;
        profTauxSum[i] += taux;
        profTauxN[i]++;
      }
      if (!Number.isNaN(debit) || !Number.isNaN(taux)) profArcs[i]++;
    }
  }

  // Zones (arrondissements), in code order; sums in arc-id order.
  const zoneArcs = new Map<string, ArcMetric[]>();
  for (const m of metrics) {
    const list = zoneArcs.get(m.arrondissement);
    if (list) list.push(m);
    else zoneArcs.set(m.arrondissement, [m]);
  }
  const zones: ZoneMetric[] = [...zoneArcs.keys()].sort().map((zone) => {
    const list = zoneArcs.get(zone)!;
    let vehicules = 0;
    let lost = 0;
    let satures = 0;
    for (const m of list) {
      vehicules += m.debit_journalier_total;
      lost += m.temps_perdu_total_minutes;
      if (m.congestion_alerte) satures++;
    }
    return {
      zone,
      nombre_troncons: list.length,
      total_vehicules: vehicules,
      temps_perdu_total_minutes: lost,
      nombre_troncons_satures: satures,
      taux_saturation: percent(satures, list.length),
      moyenne_vehicules_par_troncon: vehicules / list.length,
      top_troncons: topArcs(list, (m) => m.debit_journalier_total, TOP_ARCS_PER_ZONE).map((m) => ({
        identifiant_arc: m.identifiant_arc,
        libelle: m.libelle,
        debit_journalier_total: m.debit_journalier_total,
        etat_trafic: m.etat_trafic_dominant,
      })),
    };
  });
  const byZone = (a: ZoneMetric, b: ZoneMetric) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0);

  let total = 0;
  let lost = 0;
  let actifs = 0;
  let satures = 0;
  let available = 0;
  for (const m of metrics) {
    total += m.debit_journalier_total;
    lost += m.temps_perdu_total_minutes;
    if (m.heures_mesurees >= 1) actifs++;
    if (m.congestion_alerte) satures++;
    if (m.heures_mesurees >= thresholds.availabilityMinHours) available++;
  }

  const global: ComptagesGlobal = {
    date: day,
    total_vehicules_jour: total,
    nombre_troncons_actifs: actifs,
    moyenne_debit_par_troncon: actifs ? total / actifs : 0,
    taux_occupation_moyen: tauxN ? tauxSum / tauxN : null,
    temps_perdu_total_paris: lost,
    temps_perdu_total_heures: lost / 60,
    nombre_troncons_satures: satures,
    taux_disponibilite_capteurs: percent(available, metrics.length),
    repartition_etat_trafic: repartition(etatHours),
    heures_dans_la_journee: dayHours,
    profil_horaire: profDebit.map((debitTotal, i) => ({
      heure: toParisIso(midnight + i * HOUR_MS),
      debit_total: debitTotal,
      taux_occupation_moyen: profTauxN[i] ? profTauxSum[i] / profTauxN[i] : null,
      arcs_mesures: profArcs[i],
    })),
  };

  const result: ComptagesMetrics = {
    date: day,
    metrics,
    top_10_troncons: topArcs(metrics, (m) => m.debit_journalier_total, TOP_ARCS),
    top_10_troncons_congestionnes: topArcs(
      metrics.filter((m) => m.temps_perdu_total_minutes > 0),
      (m) => m.temps_perdu_total_minutes,
      TOP_ARCS,
    ),
    top_10_zones_congestionnees: [...zones].sort((a, b) => b.temps_perdu_total_minutes - a.temps_perdu_total_minutes || byZone(a, b)).slice(0, TOP_ZONES),
    top_zones_affluence: [...zones].sort((a, b) => b.total_vehicules - a.total_vehicules || byZone(a, b)).slice(0, TOP_ZONES),
    alertes_congestion: topArcs(
      metrics.filter((m) => m.congestion_alerte && m.debit_journalier_total > 0),
      (m) => m.temps_perdu_total_minutes,
      MAX_CONGESTION_ALERTS,
    ),
    capteurs_defaillants: failing,
    global_metrics: global,
    qualite: quality,
  };
  return { metrics: result, quality: { ...quality, rejected: { ...quality.rejected }, samples: [...quality.samples] } };
}

/** Hours per état by code → the published object (key order of the old documents). */
function repartition(byCode: number[]): Record<EtatTrafic, number> {
  const out: Record<EtatTrafic, number> = { Fluide: 0, 'Pré-saturé': 0, Saturé: 0, Bloqué: 0, Inconnu: 0 };
  ETATS_TRAFIC.forEach((e, i) => (out[e] = byCode[i]));
  return out;
}

/** A share in %, rounded to 2 decimals (0 when the whole is empty). */
function percent(part: number, whole: number): number {
  return whole ? Math.round((part / whole) * 10_000) / 100 : 0;
}
