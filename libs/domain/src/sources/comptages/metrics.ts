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
import type { ComptagesPartial, HourTuple } from './parse';

interface MergedArc {
  id: string;
  libelle: string;
  geo: string | null;
  hours: HourTuple[];
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

/** Merge partials in order; the first (arc, hourStart) wins, later ones are counted `duplicate_hour`. */
export function mergeComptagesPartials(partials: ComptagesPartial[]): { arcs: MergedArc[]; quality: QualityCounts } {
  const byId = new Map<string, { arc: MergedArc; seen: Set<number> }>();
  const quality = emptyQuality();
  for (const p of partials) {
    if (!p || !p.arcs) continue;
    for (const id of Object.keys(p.arcs)) {
      const src = p.arcs[id];
      let entry = byId.get(id);
      if (!entry) {
        entry = { arc: { id, libelle: src.libelle, geo: src.geo_point_2d ?? null, hours: [] }, seen: new Set() };
        byId.set(id, entry);
      } else {
        if (entry.arc.geo === null && src.geo_point_2d) entry.arc.geo = src.geo_point_2d;
        if (entry.arc.libelle === '' && src.libelle) entry.arc.libelle = src.libelle;
      }
      for (const h of src.hours) {
        if (entry.seen.has(h[0])) {
          quality.records++;
          quality.rejected.duplicate_hour = (quality.rejected.duplicate_hour ?? 0) + 1;
          continue;
        }
        entry.seen.add(h[0]);
        entry.arc.hours.push(h);
      }
    }
  }
  const arcs = [...byId.values()].map((e) => e.arc);
  arcs.sort((a, b) => Number(a.id) - Number(b.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const a of arcs) a.hours.sort((x, y) => x[0] - y[0]);
  return { arcs, quality };
}

interface ArcComputed {
  metric: ArcMetric;
  /** Hours with a débit value. */
  debitHours: number;
  failing: string[];
}

// Arcs keep their position from day to day: memoise the point-in-polygon lookups.
const arrCache = new Map<string, string>();
function cachedArrondissement(lat: number, lon: number): string {
  const key = `${lat},${lon}`;
  let a = arrCache.get(key);
  if (a === undefined) {
    a = arrondissementOf(lat, lon);
    if (arrCache.size >= 50_000) arrCache.clear();
    arrCache.set(key, a);
  }
  return a;
}

function computeArc(day: string, arc: MergedArc, ref: ReferentielArc | undefined, t: ComptagesThresholds, dayHours: number): ArcComputed {
  const hours = arc.hours;
  let total = 0;
  let nDebit = 0;
  let max = 0;
  let peakStart: number | null = null;
  let tauxSum = 0;
  let nTaux = 0;
  let measured = 0;
  const etatCount: Record<EtatTrafic, number> = { Inconnu: 0, Fluide: 0, 'Pré-saturé': 0, Saturé: 0, Bloqué: 0 };

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

  for (const [start, debit, taux, etat] of hours) {
    etatCount[etat]++;
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
  for (const e of ETATS_TRAFIC) {
    // ETATS_TRAFIC goes from the least to the most severe: `>=` gives ties to the more severe.
    if (etatCount[e] > 0 && etatCount[e] >= best) {
      best = etatCount[e];
      dominant = e;
    }
  }

  let lat = NaN;
  let lon = NaN;
  const pt = parseLatLon(arc.geo);
  if (pt) {
    lat = pt.lat;
    lon = pt.lon;
  } else if (ref?.center) {
    lon = ref.center[0];
    lat = ref.center[1];
  }
  const hasCoords = Number.isFinite(lat) && Number.isFinite(lon);
  const geo = arc.geo ?? (ref?.geo_point_2d ? normalizeGeo(ref.geo_point_2d) : null);

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
    arrondissement: hasCoords ? cachedArrondissement(lat, lon) : HORS_PARIS,
    zone_fallback: hasCoords ? legacyZoneFallback(lat, lon) : 'Unknown',
    geo_point_2d: geo,
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

const byArcId = (a: ArcMetric, b: ArcMetric) => Number(a.identifiant_arc) - Number(b.identifiant_arc);

/** Descending by `key`, ties by numeric arc id. */
function topArcs(arcs: ArcMetric[], key: (a: ArcMetric) => number, n: number): ArcMetric[] {
  return [...arcs].sort((a, b) => key(b) - key(a) || byArcId(a, b)).slice(0, n);
}

export function finalizeComptagesDay(
  day: string,
  partials: ComptagesPartial[],
  ctx: FinalizeContext,
  thresholds: ComptagesThresholds = DEFAULT_COMPTAGES_THRESHOLDS,
): DayResult<ComptagesMetrics> {
  const { arcs, quality } = mergeComptagesPartials(partials);
  const dayHours = hoursInDay(day);
  const midnight = parisMidnight(day);
  const ref = ctx.referentiel;

  const metrics: ArcMetric[] = [];
  const failing: FailingSensor[] = [];
  const repartition: Record<EtatTrafic, number> = { Fluide: 0, 'Pré-saturé': 0, Saturé: 0, Bloqué: 0, Inconnu: 0 };
  const profDebit = new Array<number>(dayHours).fill(0);
  const profTauxSum = new Array<number>(dayHours).fill(0);
  const profTauxN = new Array<number>(dayHours).fill(0);
  const profArcs = new Array<number>(dayHours).fill(0);
  let tauxSum = 0;
  let tauxN = 0;

  for (const arc of arcs) {
    const r = ref && Object.prototype.hasOwnProperty.call(ref, arc.id) ? ref[arc.id] : undefined;
    const c = computeArc(day, arc, r, thresholds, dayHours);
    metrics.push(c.metric);
    if (c.failing.length) failing.push({ id_compteur: arc.id, type: 'road', libelle: arc.libelle, raisons: c.failing });
    for (const [start, debit, taux, etat] of arc.hours) {
      repartition[etat]++;
      const i = Math.round((start - midnight) / HOUR_MS);
      const inDay = i >= 0 && i < dayHours;
      if (debit !== null && inDay) profDebit[i] += debit;
      if (taux !== null) {
        tauxSum += taux;
        tauxN++;
        if (inDay) {
          profTauxSum[i] += taux;
          profTauxN[i]++;
        }
      }
      if ((debit !== null || taux !== null) && inDay) profArcs[i]++;
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
    repartition_etat_trafic: repartition,
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

/** A share in %, rounded to 2 decimals (0 when the whole is empty). */
function percent(part: number, whole: number): number {
  return whole ? Math.round((part / whole) * 10_000) / 100 : 0;
}
