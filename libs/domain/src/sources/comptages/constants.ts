import type { EtatTrafic } from '../../shared/metrics-types';

/** The 15 labels of the ODS CSV export, in file order (data-formats §1). */
export const COMPTAGES_COLUMNS = [
  'Identifiant arc',
  'Libelle',
  'Date et heure de comptage',
  'Débit horaire',
  "Taux d'occupation",
  'Etat trafic',
  'Identifiant noeud amont',
  'Libelle noeud amont',
  'Identifiant noeud aval',
  'Libelle noeud aval',
  'Etat arc',
  'Date debut dispo data',
  'Date fin dispo data',
  'geo_point_2d',
  'geo_shape',
] as const;
export type ComptagesColumn = (typeof COMPTAGES_COLUMNS)[number];

/** Columns the handler reads; a header without any of them fails the file (`bad_header`). */
export const COMPTAGES_REQUIRED_COLUMNS: readonly ComptagesColumn[] = [
  'Identifiant arc',
  'Libelle',
  'Date et heure de comptage',
  'Débit horaire',
  "Taux d'occupation",
  'Etat trafic',
  'geo_point_2d',
];

/** Occupancy (%) at or above which an hour counts towards a congestion period. */
export const CONGESTION_THRESHOLD = 80;
/** Occupancy (%) at or above which a congestion period is `Critique`. */
export const CRITICAL_THRESHOLD = 90;
/** Consecutive congested hours needed for a congestion period. */
export const CONGESTION_MIN_HOURS = 2;
/** A sensor is failing when strictly more hours than this lack a flow value on D. */
export const FAILING_MISSING_HOURS = 6;
/** A sensor is failing when the same non-zero flow repeats for at least this many consecutive hours. */
export const CONSTANT_FLOW_HOURS = 12;
/** An arc is "available" on D with at least this many measured hours. */
export const AVAILABILITY_MIN_HOURS = 18;
/** Arc length used when the référentiel does not give one. */
export const DEFAULT_ARC_LENGTH_M = 500;
/** Free-flow reference speed of the lost-time computation. */
export const REFERENCE_SPEED_KMH = 50;
/** How many entries the top lists keep. */
export const TOP_ARCS = 10;
export const TOP_ZONES = 10;
export const TOP_ARCS_PER_ZONE = 5;
export const MAX_CONGESTION_ALERTS = 20;

export const RAISON_SANS_DEBIT = 'plus de 6 h sans débit';
export const RAISON_DEBIT_CONSTANT = 'débit constant ≥ 12 h';

/** Speed (km/h) assumed at a given occupancy (the old system's bands). */
export function speedForOccupancy(taux: number): number {
  if (taux < 30) return 50;
  if (taux < 50) return 40;
  if (taux < 70) return 30;
  return 20;
}

/** Thresholds of the comptages metrics (SPEC §4: configuration, with these defaults). */
export interface ComptagesThresholds {
  congestion: number;
  critical: number;
  congestionMinHours: number;
  failingMissingHours: number;
  constantFlowHours: number;
  availabilityMinHours: number;
  defaultArcLengthM: number;
}

export const DEFAULT_COMPTAGES_THRESHOLDS: Readonly<ComptagesThresholds> = Object.freeze({
  congestion: CONGESTION_THRESHOLD,
  critical: CRITICAL_THRESHOLD,
  congestionMinHours: CONGESTION_MIN_HOURS,
  failingMissingHours: FAILING_MISSING_HOURS,
  constantFlowHours: CONSTANT_FLOW_HOURS,
  availabilityMinHours: AVAILABILITY_MIN_HOURS,
  defaultArcLengthM: DEFAULT_ARC_LENGTH_M,
});

/** The five states, from the least to the most severe (ties in the dominant state go to the more severe). */
export const ETATS_TRAFIC: readonly EtatTrafic[] = ['Inconnu', 'Fluide', 'Pré-saturé', 'Saturé', 'Bloqué'];

const ETAT_BY_KEY: Record<string, EtatTrafic> = {
  inconnu: 'Inconnu',
  fluide: 'Fluide',
  presature: 'Pré-saturé',
  sature: 'Saturé',
  bloque: 'Bloqué',
  // Integer codes of the publisher's documentation and the legacy archive.
  '0': 'Inconnu',
  '1': 'Fluide',
  '2': 'Pré-saturé',
  '3': 'Saturé',
  '4': 'Bloqué',
};

/**
 * Normalise an `Etat trafic` label (case, accents, spaces, `_`/`-` ignored; integer codes
 * accepted). Anything unrecognised is `Inconnu`.
 */
export function normalizeEtatTrafic(label: string): EtatTrafic {
  switch (label) {
    case 'Fluide':
    case 'Inconnu':
    case 'Pré-saturé':
    case 'Saturé':
    case 'Bloqué':
      return label;
  }
  const key = label
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
  return Object.prototype.hasOwnProperty.call(ETAT_BY_KEY, key) ? ETAT_BY_KEY[key] : 'Inconnu';
}
