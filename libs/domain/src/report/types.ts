/**
 * Shape of the daily report (`daily_report_<D>.json`, `/report/{date}`) and of what it is built from.
 * Every key of the old report is kept with the same meaning, now right for D; new keys are added.
 * `libs/domain/report.schema.json` describes the same shape and is what `validateReport` checks.
 */
import type {
  ArcMetric,
  ChantierActif,
  FailingSensor,
  MetricsByType,
  Mode,
  TrafficMetrics,
  VelibMetrics,
  WeatherMetrics,
  ZoneMetric,
} from '../shared/metrics-types';
import type { QualityCounts, RejectSample, SourceName } from '../shared/model';

// ───────────────────────────── input ─────────────────────────────

/** One input file of the run that fed D (or failed). */
export interface ReportFileEntry {
  source: SourceName;
  relPath: string;
  status: 'ok' | 'failed';
  error?: string;
  records?: number;
  rejected?: number;
}

export interface ReportInput {
  /** The report day D (`YYYY-MM-DD`, Europe/Paris calendar day). */
  date: string;
  /** ISO 8601 with offset. Given by the caller so that building stays pure. */
  generatedAt: string;
  /** Metric documents for D (an absent source = no document). */
  metrics: Partial<MetricsByType>;
  /** Documents for D−7 when they exist. */
  previousWeek: Partial<MetricsByType>;
  /** Every input file of the run that fed D (or failed). */
  files: ReportFileEntry[];
  /** Record counts per source for D (chunk and merge level, already merged). */
  quality: Partial<Record<SourceName, QualityCounts>>;
  /** Sources a complete day needs (all seven when undefined). */
  expectedSources: SourceName[];
}

// ───────────────────────────── report ─────────────────────────────

export type ReportStatus = 'complet' | 'incomplet';

export interface ReportSummary {
  total_vehicules_paris: number;
  temps_perdu_total_minutes: number;
  nombre_troncons_satures: number;
  taux_disponibilite_capteurs: number;
  total_velos_paris: number;
}

/** An arc in a congestion alert always carries its severity. */
export type ReportAlert = ArcMetric & { severite: 'Critique' | 'Élevée' };

/** One indicator compared with the same day one week earlier. */
export interface EvolutionIndicator {
  /** Value on D; null when the source is missing on D. */
  valeur: number | null;
  /** Value on D−7; null when the source is missing on D−7. */
  valeur_semaine_precedente: number | null;
  /** valeur − valeur_semaine_precedente; null when either side is null. */
  variation_absolue: number | null;
  /** Variation in % of the D−7 value (2 decimals); null when either side is null or D−7 is 0. */
  variation_pourcent: number | null;
}

export const EVOLUTION_INDICATORS = [
  'total_vehicules',
  'temps_perdu_total_minutes',
  'nombre_troncons_satures',
  'taux_disponibilite_capteurs',
  'total_velos',
  'chantiers_actifs',
  'perturbations_actives',
  'velib_velos_disponibles_moyen',
] as const;
export type EvolutionIndicatorName = (typeof EVOLUTION_INDICATORS)[number];

export type Evolution = {
  /** D−7. */
  date_comparaison: string;
  /** True when at least one indicator could be compared (a source present on both days). */
  disponible: boolean;
  /** Sources present on both D and D−7, in SOURCES order. */
  sources_comparees: SourceName[];
  /** Human-readable statement of what was compared (the old report had only this key). */
  note: string;
} & Record<EvolutionIndicatorName, EvolutionIndicator>;

/** The weather of D with its categories, or `{}` when weather is missing for D. */
export type MeteoImpact =
  | (NonNullable<WeatherMetrics['metrics']> & { categories: string[] })
  | Record<string, never>;

export interface TransportsSummary {
  reliability_index: number;
  active_disruptions_count: number;
  total_disruptions_count: number;
  disruptions_by_severity: TrafficMetrics['disruptions_by_severity'];
  disruptions_by_feed_severity: Record<string, number>;
  lignes_impactees_par_mode: Record<Mode, string[]>;
  /** Distinct impacted lines over every mode. */
  nombre_lignes_impactees: number;
  /** At most 10. */
  top_lignes_impactees: TrafficMetrics['top_lignes_impactees'];
  /** Alerts of the document before the cap. */
  nombre_alertes: number;
  /** At most 20, in the document's order. */
  alerts: TrafficMetrics['alerts'];
}

export interface VelibSummary {
  snapshots: number;
  stations: number;
  velos_disponibles_moyen: number;
  velos_mecaniques_moyen: number;
  velos_electriques_moyen: number;
  part_stations_vides: number;
  part_stations_pleines: number;
  /** At most 10. */
  stations_souvent_vides: VelibMetrics['stations_souvent_vides'];
  par_arrondissement: VelibMetrics['par_arrondissement'];
}

export interface FailedFile {
  relPath: string;
  error: string;
}

export interface SourceQuality {
  records: number;
  accepted: number;
  /** reason → count */
  rejected: Record<string, number>;
  rejected_total: number;
  /** At most 5. */
  samples: RejectSample[];
  fichiers_en_echec: FailedFile[];
}

export type MissingReason = 'aucun_fichier' | 'fichier_en_echec' | 'aucune_donnee';

export interface MissingSource {
  source: SourceName;
  /** `aucun_fichier`: no input file of the source; `fichier_en_echec`: its file(s) failed; `aucune_donnee`: files read, no data for D. */
  raison: MissingReason;
  detail: string;
}

export interface PartialSource {
  source: SourceName;
  fichiers_en_echec: FailedFile[];
}

export interface Completude {
  statut: ReportStatus;
  sources_attendues: SourceName[];
  sources_presentes: SourceName[];
  sources_manquantes: MissingSource[];
  /** Expected sources present for D although some of their files failed (their data is partial). */
  sources_partielles: PartialSource[];
  fichiers: ReportFileEntry[];
}

export interface DailyReport {
  date: string;
  generated_at: string;
  statut: ReportStatus;
  summary: ReportSummary;
  /** At most 10 arcs, by daily flow. */
  top_10_troncons_frequentes: ArcMetric[];
  /** At most 10 real zones (arrondissements), by lost time. */
  top_10_zones_congestionnees: ZoneMetric[];
  /** At most 10 arcs, by lost time (what the old key wrongly held). */
  top_10_troncons_congestionnes: ArcMetric[];
  /** Road sensors, then bike counters. */
  capteurs_defaillants: FailingSensor[];
  /** At most 20. */
  alertes_congestion: ReportAlert[];
  chantiers_actifs: ChantierActif[];
  evolution_vs_semaine_precedente: Evolution;
  meteo_impact: MeteoImpact;
  /** Null when traffic is missing for D. */
  transports: TransportsSummary | null;
  /** Null when Vélib' is missing for D. */
  velib: VelibSummary | null;
  qualite_donnees: Partial<Record<SourceName, SourceQuality>>;
  completude: Completude;
}
