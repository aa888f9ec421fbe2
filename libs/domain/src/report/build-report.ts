/**
 * Daily report builder (SPEC §5): a pure function from the metric documents of D (and D−7), the
 * run's file list and the record counts, to the report object. No I/O, no clock: `generatedAt`
 * comes from the caller, so the same input always gives the same report.
 *
 * Rules that are not obvious from the types:
 * - a source is *present* for D when its document exists, is dated D (or undated) and holds data
 *   for D (see `sourceHasData`); the summary shows 0 for a missing source, and completude lists it;
 * - lists are copied key by key (unknown keys dropped, absent nullable keys set to null), so the
 *   report always has the shape of `report.schema.json` whatever a document carries in addition;
 * - nothing is rounded except the percentages computed here (2 decimals).
 */
import type {
  ArcMetric,
  BikesMetrics,
  ChantierActif,
  ComptagesMetrics,
  CongestionPeriod,
  FailingSensor,
  MetricsByType,
  Mode,
  TrafficMetrics,
  VelibMetrics,
  WeatherMetrics,
  ZoneMetric,
} from '../shared/metrics-types';
import { SOURCES, type QualityCounts, type RejectSample, type SourceName } from '../shared/model';
import { addDays, isValidDay, parseIsoWithOffset } from '../shared/time';
import {
  EVOLUTION_INDICATORS,
  type Completude,
  type DailyReport,
  type Evolution,
  type EvolutionIndicator,
  type EvolutionIndicatorName,
  type FailedFile,
  type MeteoImpact,
  type MissingSource,
  type PartialSource,
  type ReportAlert,
  type ReportFileEntry,
  type ReportInput,
  type ReportSummary,
  type SourceQuality,
  type TransportsSummary,
  type VelibSummary,
} from './types';

/** Caps of the report lists (the old report had the same 10 / 20). */
export const REPORT_LIMITS = {
  top: 10,
  alertesCongestion: 20,
  alertesTransports: 20,
  stationsSouventVides: 10,
  qualitySamples: 5,
} as const;

export const TRANSPORT_MODES: readonly Mode[] = ['metro', 'rer', 'tram', 'bus', 'train', 'autre'];

type Docs = Partial<MetricsByType>;

/**
 * Whether a metric document holds data for its day: comptages ≥ 1 arc; bikes ≥ 1 counter or failing
 * counter; weather a non-null day; traffic and chantiers the document itself (an empty list is a
 * real answer); velib ≥ 1 snapshot; referentiel ≥ 1 arc.
 */
export function sourceHasData<S extends SourceName>(source: S, doc: MetricsByType[S] | null | undefined): boolean {
  if (doc === null || doc === undefined || typeof doc !== 'object') return false;
  switch (source) {
    case 'comptages': {
      const d = doc as ComptagesMetrics;
      return (d.metrics?.length ?? 0) > 0 || (d.global_metrics?.nombre_troncons_actifs ?? 0) > 0;
    }
    case 'bikes': {
      const d = doc as BikesMetrics;
      return (d.metrics?.length ?? 0) > 0 || (d.capteurs_defaillants?.length ?? 0) > 0 || (d.failing_sensors?.length ?? 0) > 0;
    }
    case 'weather':
      return (doc as WeatherMetrics).metrics != null;
    case 'traffic':
    case 'chantiers':
      return true;
    case 'velib':
      return ((doc as VelibMetrics).snapshots ?? 0) >= 1;
    case 'referentiel': {
      const d = doc as MetricsByType['referentiel'];
      return Object.keys(d.mapping ?? {}).length > 0 || (d.statistiques?.nombre_troncons ?? 0) > 0;
    }
    default:
      return false;
  }
}

interface SourceState {
  /** The document, when it exists and is not dated another day. */
  doc: unknown;
  present: boolean;
  /** Why an existing document is not used, when that is the case. */
  why?: string;
}

function sourceState(source: SourceName, docs: Docs, day: string): SourceState {
  const doc = docs[source] as { date?: unknown } | undefined | null;
  if (doc === undefined || doc === null) return { doc: undefined, present: false };
  const dated = typeof doc.date === 'string' && isValidDay(doc.date) ? doc.date : null;
  if (dated !== null && dated !== day) {
    return { doc: undefined, present: false, why: `le document ${source} est daté du ${dated}, pas du ${day}` };
  }
  const present = sourceHasData(source, doc as MetricsByType[typeof source]);
  return { doc, present, why: present ? undefined : `le document ${source} ne contient aucune donnée pour le ${day}` };
}

function statesFor(docs: Docs, day: string): Record<SourceName, SourceState> {
  const out = {} as Record<SourceName, SourceState>;
  for (const s of SOURCES) out[s] = sourceState(s, docs ?? {}, day);
  return out;
}

// ───────────────────────────── small helpers ─────────────────────────────

/** Percentage rounded to 2 decimals, never -0. */
export function roundPercent(x: number): number {
  const r = Math.round(x * 100) / 100;
  return r === 0 ? 0 : r;
}

const orNull = <T>(v: T | null | undefined): T | null => (v === undefined ? null : v);

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedMap<V>(entries: Iterable<[string, V]>): Record<string, V> {
  return Object.fromEntries([...entries].sort((x, y) => byCodeUnits(x[0], y[0])));
}

function sourceOrder(s: SourceName): number {
  return SOURCES.indexOf(s);
}

// ───────────────────────────── projections (exact report shapes) ─────────────────────────────

function projectPeriod(p: CongestionPeriod): CongestionPeriod {
  return { debut: p.debut, fin: p.fin, duree_heures: p.duree_heures, taux_max: p.taux_max, severite: p.severite };
}

export function projectArc(a: ArcMetric): ArcMetric {
  return {
    date: a.date,
    identifiant_arc: String(a.identifiant_arc),
    libelle: a.libelle ?? '',
    debit_horaire_moyen: a.debit_horaire_moyen,
    debit_journalier_total: a.debit_journalier_total,
    debit_max: a.debit_max,
    heure_pic: orNull(a.heure_pic),
    taux_occupation_moyen: orNull(a.taux_occupation_moyen),
    etat_trafic_dominant: a.etat_trafic_dominant,
    heures_mesurees: a.heures_mesurees,
    longueur_metres: a.longueur_metres,
    longueur_source: a.longueur_source,
    temps_perdu_minutes: a.temps_perdu_minutes,
    temps_perdu_total_minutes: a.temps_perdu_total_minutes,
    congestion_alerte: a.congestion_alerte,
    severite: orNull(a.severite),
    congestion_periodes: (a.congestion_periodes ?? []).map(projectPeriod),
    arrondissement: a.arrondissement,
    zone_fallback: a.zone_fallback,
    geo_point_2d: orNull(a.geo_point_2d),
  };
}

function projectZone(z: ZoneMetric): ZoneMetric {
  return {
    zone: z.zone,
    nombre_troncons: z.nombre_troncons,
    total_vehicules: z.total_vehicules,
    temps_perdu_total_minutes: z.temps_perdu_total_minutes,
    nombre_troncons_satures: z.nombre_troncons_satures,
    taux_saturation: z.taux_saturation,
    moyenne_vehicules_par_troncon: z.moyenne_vehicules_par_troncon,
    top_troncons: (z.top_troncons ?? []).map((t) => ({
      identifiant_arc: String(t.identifiant_arc),
      libelle: t.libelle ?? '',
      debit_journalier_total: t.debit_journalier_total,
      etat_trafic: t.etat_trafic,
    })),
  };
}

function projectSensor(s: FailingSensor, type: FailingSensor['type'], libelle: string | undefined): FailingSensor {
  const out: FailingSensor = { id_compteur: String(s.id_compteur), type: s.type ?? type, raisons: [...(s.raisons ?? [])] };
  const lib = typeof s.libelle === 'string' && s.libelle !== '' ? s.libelle : libelle;
  if (lib !== undefined && lib !== '') out.libelle = lib;
  return out;
}

function projectChantier(c: ChantierActif): ChantierActif {
  return {
    identifiant: String(c.identifiant),
    typologie: orNull(c.typologie),
    impact: orNull(c.impact),
    arrondissement: orNull(c.arrondissement),
    date_debut: c.date_debut,
    date_fin: c.date_fin,
    objet: orNull(c.objet),
    voie: orNull(c.voie),
    niveau_perturbation: orNull(c.niveau_perturbation),
    surface_m2: c.surface_m2,
    geo_point_2d: orNull(c.geo_point_2d),
  };
}

function projectSample(s: RejectSample): RejectSample {
  const out: RejectSample = { file: s.file, reason: s.reason };
  if (typeof s.line === 'number') out.line = s.line;
  if (typeof s.byteOffset === 'number') out.byteOffset = s.byteOffset;
  return out;
}

function projectFile(f: ReportFileEntry): ReportFileEntry {
  const out: ReportFileEntry = { source: f.source, relPath: f.relPath, status: f.status };
  if (f.status === 'failed') out.error = f.error ?? 'erreur non précisée';
  else if (typeof f.error === 'string') out.error = f.error;
  if (typeof f.records === 'number') out.records = f.records;
  if (typeof f.rejected === 'number') out.rejected = f.rejected;
  return out;
}

/** Severity of a congestion alert: the arc's own, else derived from its periods; `Élevée` is the base level of any alert. */
function alertSeverity(a: ArcMetric): 'Critique' | 'Élevée' {
  if (a.severite === 'Critique' || a.severite === 'Élevée') return a.severite;
  return (a.congestion_periodes ?? []).some((p) => p.severite === 'Critique') ? 'Critique' : 'Élevée';
}

// ───────────────────────────── sections ─────────────────────────────

function buildSummary(st: Record<SourceName, SourceState>): ReportSummary {
  const c = st.comptages.present ? (st.comptages.doc as ComptagesMetrics).global_metrics : undefined;
  const b = st.bikes.present ? (st.bikes.doc as BikesMetrics) : undefined;
  return {
    total_vehicules_paris: c?.total_vehicules_jour ?? 0,
    temps_perdu_total_minutes: c?.temps_perdu_total_paris ?? 0,
    nombre_troncons_satures: c?.nombre_troncons_satures ?? 0,
    taux_disponibilite_capteurs: c?.taux_disponibilite_capteurs ?? 0,
    total_velos_paris: b?.total_velos ?? 0,
  };
}

function buildFailingSensors(st: Record<SourceName, SourceState>): FailingSensor[] {
  const out: FailingSensor[] = [];
  const seen = new Set<string>();
  const push = (s: FailingSensor) => {
    const key = `${s.type}\u0000${s.id_compteur}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(s);
  };
  const comptages = st.comptages.doc as ComptagesMetrics | undefined;
  if (comptages) {
    const arcNames = new Map((comptages.metrics ?? []).map((a) => [String(a.identifiant_arc), a.libelle]));
    for (const s of comptages.capteurs_defaillants ?? []) push(projectSensor(s, 'road', arcNames.get(String(s.id_compteur))));
  }
  const bikes = st.bikes.doc as BikesMetrics | undefined;
  if (bikes) {
    const names = new Map((bikes.metrics ?? []).map((m) => [String(m.id_compteur), m.nom_compteur]));
    for (const s of bikes.capteurs_defaillants ?? []) push(projectSensor(s, 'bike', names.get(String(s.id_compteur))));
    // Counters listed only in the old-style id list still appear, without reasons.
    for (const id of bikes.failing_sensors ?? []) {
      push(projectSensor({ id_compteur: String(id), type: 'bike', raisons: [] }, 'bike', names.get(String(id))));
    }
  }
  return out;
}

interface IndicatorDef {
  source: SourceName;
  read: (doc: never) => number | undefined;
}

const INDICATORS: Record<EvolutionIndicatorName, IndicatorDef> = {
  total_vehicules: { source: 'comptages', read: (d: ComptagesMetrics) => d.global_metrics?.total_vehicules_jour },
  temps_perdu_total_minutes: { source: 'comptages', read: (d: ComptagesMetrics) => d.global_metrics?.temps_perdu_total_paris },
  nombre_troncons_satures: { source: 'comptages', read: (d: ComptagesMetrics) => d.global_metrics?.nombre_troncons_satures },
  taux_disponibilite_capteurs: { source: 'comptages', read: (d: ComptagesMetrics) => d.global_metrics?.taux_disponibilite_capteurs },
  total_velos: { source: 'bikes', read: (d: BikesMetrics) => d.total_velos },
  chantiers_actifs: { source: 'chantiers', read: (d: ChantiersDoc) => d.total_chantiers_actifs ?? d.chantiers_actifs?.length },
  perturbations_actives: { source: 'traffic', read: (d: TrafficMetrics) => d.active_disruptions_count },
  velib_velos_disponibles_moyen: { source: 'velib', read: (d: VelibMetrics) => d.velos_disponibles_moyen },
};
type ChantiersDoc = MetricsByType['chantiers'];

function indicatorValue(def: IndicatorDef, st: Record<SourceName, SourceState>): number | null {
  const s = st[def.source];
  if (!s.present) return null;
  const v = (def.read as (doc: unknown) => number | undefined)(s.doc);
  return typeof v === 'number' ? v : null;
}

export function compareIndicator(valeur: number | null, precedente: number | null): EvolutionIndicator {
  const both = valeur !== null && precedente !== null;
  return {
    valeur,
    valeur_semaine_precedente: precedente,
    variation_absolue: both ? valeur - precedente : null,
    variation_pourcent: both && precedente !== 0 ? roundPercent(((valeur - precedente) / Math.abs(precedente)) * 100) : null,
  };
}

function buildEvolution(day: string, st: Record<SourceName, SourceState>, prev: Record<SourceName, SourceState>): Evolution {
  const dateComparaison = addDays(day, -7);
  const compared = new Set<SourceName>();
  const indicators = {} as Record<EvolutionIndicatorName, EvolutionIndicator>;
  for (const name of EVOLUTION_INDICATORS) {
    const def = INDICATORS[name];
    const ind = compareIndicator(indicatorValue(def, st), indicatorValue(def, prev));
    if (ind.valeur !== null && ind.valeur_semaine_precedente !== null) compared.add(def.source);
    indicators[name] = ind;
  }
  const sources = SOURCES.filter((s) => compared.has(s));
  const disponible = sources.length > 0;
  return {
    date_comparaison: dateComparaison,
    disponible,
    sources_comparees: sources,
    note: disponible
      ? `Comparaison avec le ${dateComparaison} (${sources.join(', ')})`
      : `Aucune donnée comparable pour le ${dateComparaison}`,
    ...indicators,
  };
}

function buildMeteo(st: SourceState): MeteoImpact {
  if (!st.present) return {};
  const w = st.doc as WeatherMetrics;
  const m = w.metrics!;
  return {
    date: m.date,
    temp_moyenne: m.temp_moyenne,
    temp_min: m.temp_min,
    temp_max: m.temp_max,
    precip_totale: m.precip_totale,
    vent_moyen: m.vent_moyen,
    conditions: m.conditions,
    impact_mobilite: typeof w.impact_mobilite === 'number' ? w.impact_mobilite : m.impact_mobilite,
    source: m.source,
    categories: [...(w.categories ?? [])],
  };
}

function buildTransports(st: SourceState): TransportsSummary | null {
  if (!st.present) return null;
  const t = st.doc as TrafficMetrics;
  const parMode = {} as Record<Mode, string[]>;
  const distinct = new Set<string>();
  for (const mode of TRANSPORT_MODES) {
    parMode[mode] = [...(t.lignes_impactees_par_mode?.[mode] ?? [])].map(String);
    for (const l of parMode[mode]) distinct.add(`${mode}\u0000${l}`);
  }
  const sev = t.disruptions_by_severity ?? { CRITIQUE: 0, ELEVEE: 0, MOYENNE: 0, FAIBLE: 0 };
  const alerts = t.alerts ?? [];
  return {
    reliability_index: t.reliability_index,
    active_disruptions_count: t.active_disruptions_count,
    total_disruptions_count: t.total_disruptions_count,
    disruptions_by_severity: { CRITIQUE: sev.CRITIQUE, ELEVEE: sev.ELEVEE, MOYENNE: sev.MOYENNE, FAIBLE: sev.FAIBLE },
    disruptions_by_feed_severity: sortedMap(Object.entries(t.disruptions_by_feed_severity ?? {})),
    lignes_impactees_par_mode: parMode,
    nombre_lignes_impactees: distinct.size,
    top_lignes_impactees: (t.top_lignes_impactees ?? [])
      .slice(0, REPORT_LIMITS.top)
      .map((l) => ({ ligne: String(l.ligne), mode: l.mode, count: l.count })),
    nombre_alertes: alerts.length,
    alerts: alerts.slice(0, REPORT_LIMITS.alertesTransports).map((a) => ({
      id: String(a.id),
      titre: orNull(a.titre),
      severite: a.severite,
      priority: a.priority,
      duration_hours: a.duration_hours,
      lignes: [...(a.lignes ?? [])].map(String),
      bloquante: a.bloquante,
    })),
  };
}

function buildVelib(st: SourceState): VelibSummary | null {
  if (!st.present) return null;
  const v = st.doc as VelibMetrics;
  return {
    snapshots: v.snapshots,
    stations: v.stations,
    velos_disponibles_moyen: v.velos_disponibles_moyen,
    velos_mecaniques_moyen: v.velos_mecaniques_moyen,
    velos_electriques_moyen: v.velos_electriques_moyen,
    part_stations_vides: v.part_stations_vides,
    part_stations_pleines: v.part_stations_pleines,
    stations_souvent_vides: (v.stations_souvent_vides ?? [])
      .slice(0, REPORT_LIMITS.stationsSouventVides)
      .map((s) => ({ station_code: String(s.station_code), nom: orNull(s.nom), part_vide: s.part_vide })),
    par_arrondissement: sortedMap(
      Object.entries(v.par_arrondissement ?? {}).map(([k, a]) => [
        k,
        { stations: a.stations, velos_disponibles_moyen: a.velos_disponibles_moyen, part_vide: a.part_vide },
      ]),
    ),
  };
}

function failedFiles(files: ReportFileEntry[], source: SourceName): FailedFile[] {
  return files
    .filter((f) => f.source === source && f.status === 'failed')
    .map((f) => ({ relPath: f.relPath, error: f.error ?? 'erreur non précisée' }));
}

function buildQuality(
  input: ReportInput,
  files: ReportFileEntry[],
  st: Record<SourceName, SourceState>,
  expected: Set<SourceName>,
): Partial<Record<SourceName, SourceQuality>> {
  const out: Partial<Record<SourceName, SourceQuality>> = {};
  for (const s of SOURCES) {
    const given = input.quality?.[s];
    const fromDoc = (st[s].doc as { qualite?: QualityCounts } | undefined)?.qualite;
    const hasFiles = files.some((f) => f.source === s);
    if (!expected.has(s) && !given && !fromDoc && !hasFiles) continue;
    const q = given ?? fromDoc;
    const rejected = sortedMap(Object.entries(q?.rejected ?? {}));
    out[s] = {
      records: q?.records ?? 0,
      accepted: q?.accepted ?? 0,
      rejected,
      rejected_total: Object.values(rejected).reduce((a, b) => a + b, 0),
      samples: (q?.samples ?? []).slice(0, REPORT_LIMITS.qualitySamples).map(projectSample),
      fichiers_en_echec: failedFiles(files, s),
    };
  }
  return out;
}

function buildCompletude(
  day: string,
  files: ReportFileEntry[],
  st: Record<SourceName, SourceState>,
  expected: SourceName[],
): Completude {
  const missing: MissingSource[] = [];
  const partial: PartialSource[] = [];
  for (const s of expected) {
    const own = files.filter((f) => f.source === s);
    const failed = failedFiles(files, s);
    if (st[s].present) {
      if (failed.length > 0) partial.push({ source: s, fichiers_en_echec: failed });
      continue;
    }
    if (own.length === 0 && st[s].doc === undefined && st[s].why === undefined) {
      missing.push({ source: s, raison: 'aucun_fichier', detail: `aucun fichier d'entrée ${s} pour le ${day}` });
    } else if (failed.length > 0) {
      missing.push({
        source: s,
        raison: 'fichier_en_echec',
        detail: failed.map((f) => `${f.relPath} : ${f.error}`).join(' ; '),
      });
    } else {
      missing.push({ source: s, raison: 'aucune_donnee', detail: st[s].why ?? `aucune métrique ${s} pour le ${day}` });
    }
  }
  const statut = missing.length === 0 && partial.length === 0 ? 'complet' : 'incomplet';
  return {
    statut,
    sources_attendues: expected,
    sources_presentes: SOURCES.filter((s) => st[s].present),
    sources_manquantes: missing,
    sources_partielles: partial,
    fichiers: files,
  };
}

// ───────────────────────────── entry point ─────────────────────────────

/** Build the daily report of `input.date`. Pure: no I/O, no clock, same input → same output. */
export function buildDailyReport(input: ReportInput): DailyReport {
  const day = input.date;
  if (typeof day !== 'string' || !isValidDay(day)) throw new RangeError(`invalid report date: ${String(day)}`);
  if (typeof input.generatedAt !== 'string' || !Number.isFinite(parseIsoWithOffset(input.generatedAt))) {
    throw new RangeError(`generatedAt must be ISO 8601 with an offset: ${String(input.generatedAt)}`);
  }
  const expectedList = SOURCES.filter((s) => (input.expectedSources ?? SOURCES).includes(s));
  const expected = new Set<SourceName>(expectedList);

  const st = statesFor(input.metrics, day);
  const prev = statesFor(input.previousWeek, addDays(day, -7));
  const files = [...(input.files ?? [])]
    .map(projectFile)
    .sort((a, b) => sourceOrder(a.source) - sourceOrder(b.source) || byCodeUnits(a.relPath, b.relPath));

  const comptages = st.comptages.doc as ComptagesMetrics | undefined;
  const chantiers = st.chantiers.doc as ChantiersDoc | undefined;
  const completude = buildCompletude(day, files, st, expectedList);

  return {
    date: day,
    generated_at: input.generatedAt,
    statut: completude.statut,
    summary: buildSummary(st),
    top_10_troncons_frequentes: (comptages?.top_10_troncons ?? []).slice(0, REPORT_LIMITS.top).map(projectArc),
    top_10_zones_congestionnees: (comptages?.top_10_zones_congestionnees ?? []).slice(0, REPORT_LIMITS.top).map(projectZone),
    top_10_troncons_congestionnes: (comptages?.top_10_troncons_congestionnes ?? []).slice(0, REPORT_LIMITS.top).map(projectArc),
    capteurs_defaillants: buildFailingSensors(st),
    alertes_congestion: (comptages?.alertes_congestion ?? [])
      .slice(0, REPORT_LIMITS.alertesCongestion)
      .map((a): ReportAlert => ({ ...projectArc(a), severite: alertSeverity(a) })),
    chantiers_actifs: (chantiers?.chantiers_actifs ?? []).map(projectChantier),
    evolution_vs_semaine_precedente: buildEvolution(day, st, prev),
    meteo_impact: buildMeteo(st.weather),
    transports: buildTransports(st.traffic),
    velib: buildVelib(st.velib),
    qualite_donnees: buildQuality(input, files, st, expected),
    completude,
  };
}
