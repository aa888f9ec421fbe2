/**
 * Shapes of the per-day metric documents (`<type>_metrics_<D>.json`, `/metrics/{type}/{date}`).
 * Key names follow the old system (French) so existing consumers keep working; new keys are
 * added, none is renamed. Every number is a finite JSON number (never NaN, never a string).
 * These types are the contract between the source handlers, the report builder, the API and
 * the dashboard.
 */
import type { QualityCounts } from './model';

// ───────────────────────────── comptages (road counts) ─────────────────────────────

export type EtatTrafic = 'Fluide' | 'Pré-saturé' | 'Saturé' | 'Bloqué' | 'Inconnu';

export interface CongestionPeriod {
  /** Start of the first hour ≥ threshold (ISO with Paris offset). */
  debut: string;
  /** End of the last hour (ISO with Paris offset). */
  fin: string;
  duree_heures: number;
  taux_max: number;
  severite: 'Critique' | 'Élevée';
}

export interface ArcMetric {
  date: string;
  identifiant_arc: string;
  libelle: string;
  debit_horaire_moyen: number;
  debit_journalier_total: number;
  debit_max: number;
  /** Start of the peak hour, inside D (ISO with Paris offset); null when no flow was measured. */
  heure_pic: string | null;
  taux_occupation_moyen: number | null;
  etat_trafic_dominant: EtatTrafic;
  heures_mesurees: number;
  longueur_metres: number;
  /** `referentiel` or `defaut` (500 m). */
  longueur_source: 'referentiel' | 'defaut';
  temps_perdu_minutes: number;
  temps_perdu_total_minutes: number;
  congestion_alerte: boolean;
  severite: 'Critique' | 'Élevée' | null;
  congestion_periodes: CongestionPeriod[];
  arrondissement: string; // "75001"…"75020" | "Hors Paris"
  zone_fallback: string;
  geo_point_2d: string | null; // "lat, lon"
}

export interface ZoneMetric {
  zone: string; // arrondissement code or "Hors Paris"
  nombre_troncons: number;
  total_vehicules: number;
  temps_perdu_total_minutes: number;
  nombre_troncons_satures: number;
  taux_saturation: number;
  moyenne_vehicules_par_troncon: number;
  top_troncons: { identifiant_arc: string; libelle: string; debit_journalier_total: number; etat_trafic: EtatTrafic }[];
}

export interface FailingSensor {
  id_compteur: string;
  type: 'road' | 'bike';
  libelle?: string;
  raisons: string[];
}

export interface ComptagesGlobal {
  date: string;
  total_vehicules_jour: number;
  nombre_troncons_actifs: number;
  moyenne_debit_par_troncon: number;
  taux_occupation_moyen: number | null;
  temps_perdu_total_paris: number; // minutes
  temps_perdu_total_heures: number;
  nombre_troncons_satures: number;
  taux_disponibilite_capteurs: number;
  repartition_etat_trafic: Record<EtatTrafic, number>;
  heures_dans_la_journee: number; // 23, 24 or 25
  /** One entry per hour of D, in order. */
  profil_horaire: { heure: string; debit_total: number; taux_occupation_moyen: number | null; arcs_mesures: number }[];
}

export interface ComptagesMetrics {
  date: string;
  metrics: ArcMetric[]; // every arc seen on D, sorted by identifiant_arc (numeric)
  top_10_troncons: ArcMetric[];
  top_10_troncons_congestionnes: ArcMetric[];
  top_10_zones_congestionnees: ZoneMetric[];
  top_zones_affluence: ZoneMetric[];
  alertes_congestion: ArcMetric[];
  capteurs_defaillants: FailingSensor[];
  global_metrics: ComptagesGlobal;
  qualite: QualityCounts;
}

// ───────────────────────────── referentiel ─────────────────────────────

export interface ReferentielArc {
  libelle: string;
  longueur_metres: number;
  noeud_amont: string;
  noeud_aval: string;
  geo_point_2d: string | null;
  center: [number, number] | null; // [lon, lat]
  arrondissement: string;
  troncons: number; // geometry pieces
  actif: true;
}

export interface ReferentielMetrics {
  date: string;
  mapping: Record<string, ReferentielArc>;
  statistiques: { nombre_troncons: number; longueur_totale_metres: number; longueur_moyenne_metres: number; par_arrondissement: Record<string, number> };
  qualite: QualityCounts;
}

// ───────────────────────────── chantiers (road works) ─────────────────────────────

export interface ChantierActif {
  identifiant: string;
  typologie: string | null;
  impact: string | null;
  arrondissement: string | null;
  date_debut: string;
  date_fin: string;
  objet: string | null;
  voie: string | null;
  niveau_perturbation: string | null;
  surface_m2: number;
  geo_point_2d: string | null;
}

export interface ChantiersMetrics {
  date: string;
  chantiers_actifs: ChantierActif[];
  impact_by_arrondissement: Record<string, number>;
  zones_critiques: { arrondissement: string; nombre_chantiers: number }[];
  surface_totale_impactee_m2: number;
  total_chantiers_actifs: number;
  qualite: QualityCounts;
}

// ───────────────────────────── bikes (counters) ─────────────────────────────

export interface BikeMetric {
  date: string;
  id_compteur: string;
  nom_compteur: string;
  total_jour: number;
  heures_presentes: number;
  moyenne_horaire: number; // over hours present
  pic_horaire: string | null; // start of peak hour, ISO with Paris offset
  arrondissement: string;
  coordinates: { lon: number; lat: number };
  anomalie_detectee: boolean;
}

export interface BikesMetrics {
  date: string;
  metrics: BikeMetric[];
  failing_sensors: string[];
  capteurs_defaillants: FailingSensor[];
  anomalies: { id_compteur: string; total_jour: number; moyenne_7j: number; ecart_pourcent: number }[];
  top_counters: BikeMetric[];
  total_velos: number;
  par_arrondissement: Record<string, number>;
  profil_horaire: { heure: string; total: number }[];
  frequentation_index: number;
  qualite: QualityCounts;
}

// ───────────────────────────── traffic (public-transport disruptions) ─────────────────────────────

export type Mode = 'metro' | 'rer' | 'tram' | 'bus' | 'train' | 'autre';

export interface TrafficMetrics {
  date: string;
  reliability_index: number; // % of (line, hour) slots of D without a blocking disruption
  active_disruptions_count: number;
  total_disruptions_count: number;
  disruptions_by_severity: { CRITIQUE: number; ELEVEE: number; MOYENNE: number; FAIBLE: number };
  disruptions_by_feed_severity: Record<string, number>;
  top_lignes_impactees: { ligne: string; mode: Mode; count: number }[];
  lignes_impactees_par_mode: Record<Mode, string[]>;
  alerts: { id: string; titre: string | null; severite: string; priority: number; duration_hours: number; lignes: string[]; bloquante: boolean }[];
  qualite: QualityCounts;
}

// ───────────────────────────── weather ─────────────────────────────

export interface WeatherMetrics {
  date: string;
  metrics: {
    date: string;
    temp_moyenne: number;
    temp_min: number;
    temp_max: number;
    precip_totale: number;
    vent_moyen: number;
    conditions: string;
    impact_mobilite: number;
    source: 'visualcrossing' | 'open-meteo';
  } | null;
  impact_mobilite: number;
  categories: string[];
  qualite: QualityCounts;
}

// ───────────────────────────── velib (bike share, new) ─────────────────────────────

export interface VelibMetrics {
  date: string;
  snapshots: number;
  stations: number;
  velos_disponibles_moyen: number;
  velos_mecaniques_moyen: number;
  velos_electriques_moyen: number;
  part_stations_vides: number; // % of station-snapshots with 0 bikes
  part_stations_pleines: number; // % of station-snapshots with 0 docks
  stations_souvent_vides: { station_code: string; nom: string | null; part_vide: number }[];
  par_arrondissement: Record<string, { stations: number; velos_disponibles_moyen: number; part_vide: number }>;
  qualite: QualityCounts;
}

export interface MetricsByType {
  comptages: ComptagesMetrics;
  referentiel: ReferentielMetrics;
  chantiers: ChantiersMetrics;
  bikes: BikesMetrics;
  traffic: TrafficMetrics;
  weather: WeatherMetrics;
  velib: VelibMetrics;
}
