import { parse } from 'csv-parse/sync';
import type {
  ArcMetric,
  BikesMetrics,
  ChantiersMetrics,
  ComptagesMetrics,
  MetricsByType,
  ReferentielMetrics,
  TrafficMetrics,
  VelibMetrics,
  WeatherMetrics,
  ZoneMetric,
} from '../src/shared/metrics-types';
import { SOURCES, emptyQuality, type QualityCounts, type SourceName } from '../src/shared/model';
import {
  EVOLUTION_INDICATORS,
  LEGACY_CSV_COLUMNS,
  LEGACY_CSV_SECTIONS,
  LEGACY_EMPTY_LINES,
  LEGACY_SUMMARY_LABELS,
  NEW_CSV_SECTIONS,
  REPORT_SCHEMA_FILE,
  ReportSchemaError,
  assertValidReport,
  buildDailyReport,
  escapeFormula,
  reportToCsv,
  validateReport,
  type DailyReport,
  type ReportFileEntry,
  type ReportInput,
} from '../src/report';

const D = '2025-11-04';
const D7 = '2025-10-28';
const GENERATED = '2025-11-05T02:00:00+01:00';

// ───────────────────────────── small metric documents ─────────────────────────────

function quality(records: number, rejected: Record<string, number> = {}): QualityCounts {
  const q = emptyQuality();
  q.records = records;
  const bad = Object.values(rejected).reduce((a, b) => a + b, 0);
  q.accepted = records - bad;
  for (const [reason, n] of Object.entries(rejected)) q.rejected[reason] = n;
  for (const reason of Object.keys(rejected)) {
    for (let i = 0; i < 4; i++) q.samples.push({ file: 'batch/comptages.csv', line: 10 + i, reason });
  }
  return q;
}

function arc(id: string, over: Partial<ArcMetric> = {}, day = D): ArcMetric {
  return {
    date: day,
    identifiant_arc: id,
    libelle: `Arc_${id}`,
    debit_horaire_moyen: 500,
    debit_journalier_total: 12000,
    debit_max: 900,
    heure_pic: `${day}T08:00:00+01:00`,
    taux_occupation_moyen: 20,
    etat_trafic_dominant: 'Fluide',
    heures_mesurees: 24,
    longueur_metres: 250,
    longueur_source: 'referentiel',
    temps_perdu_minutes: 0,
    temps_perdu_total_minutes: 0,
    congestion_alerte: false,
    severite: null,
    congestion_periodes: [],
    arrondissement: '75008',
    zone_fallback: 'Centre',
    geo_point_2d: '48.87, 2.31',
    ...over,
  };
}

function zone(code: string, lost: number): ZoneMetric {
  return {
    zone: code,
    nombre_troncons: 3,
    total_vehicules: 36000,
    temps_perdu_total_minutes: lost,
    nombre_troncons_satures: 1,
    taux_saturation: 33.33,
    moyenne_vehicules_par_troncon: 12000,
    top_troncons: [{ identifiant_arc: '1', libelle: 'Arc_1', debit_journalier_total: 12000, etat_trafic: 'Fluide' }],
  };
}

function comptages(day = D, over: Partial<ComptagesMetrics['global_metrics']> = {}): ComptagesMetrics {
  const congested = arc('2', {
    libelle: 'Bd_Périphérique',
    taux_occupation_moyen: 91.5,
    etat_trafic_dominant: 'Saturé',
    temps_perdu_minutes: 0.45,
    temps_perdu_total_minutes: 5400.5,
    congestion_alerte: true,
    severite: 'Critique',
    congestion_periodes: [
      { debut: `${day}T07:00:00+01:00`, fin: `${day}T10:00:00+01:00`, duree_heures: 3, taux_max: 93, severite: 'Critique' },
    ],
    arrondissement: '75017',
  }, day);
  const busy = arc('1', { debit_journalier_total: 40000 }, day);
  const quiet = arc('3', { debit_journalier_total: 800, heures_mesurees: 10 }, day);
  return {
    date: day,
    metrics: [busy, congested, quiet],
    top_10_troncons: [busy, congested, quiet],
    top_10_troncons_congestionnes: [congested, busy],
    top_10_zones_congestionnees: [zone('75017', 5400.5), zone('75008', 0)],
    top_zones_affluence: [zone('75008', 0)],
    alertes_congestion: [congested],
    capteurs_defaillants: [{ id_compteur: '3', type: 'road', raisons: ['plus de 6 h sans débit'] }],
    global_metrics: {
      date: day,
      total_vehicules_jour: 52800,
      nombre_troncons_actifs: 3,
      moyenne_debit_par_troncon: 17600,
      taux_occupation_moyen: 40.5,
      temps_perdu_total_paris: 5400.5,
      temps_perdu_total_heures: 90.00833333333334,
      nombre_troncons_satures: 1,
      taux_disponibilite_capteurs: 66.67,
      repartition_etat_trafic: { Fluide: 40, 'Pré-saturé': 0, Saturé: 3, Bloqué: 0, Inconnu: 1 },
      heures_dans_la_journee: 24,
      profil_horaire: [],
      ...over,
    },
    qualite: quality(72),
  };
}

function bikes(day = D, total = 4699): BikesMetrics {
  const m = {
    date: day,
    id_compteur: '100007049-101007049',
    nom_compteur: '28 boulevard Diderot O-E',
    total_jour: total,
    heures_presentes: 24,
    moyenne_horaire: total / 24,
    pic_horaire: `${day}T08:00:00+01:00`,
    arrondissement: '75012',
    coordinates: { lon: 2.37559, lat: 48.84613 },
    anomalie_detectee: false,
  };
  return {
    date: day,
    metrics: [m],
    failing_sensors: ['100003098-101003098'],
    capteurs_defaillants: [
      { id_compteur: '100003098-101003098', type: 'bike', libelle: 'Quai de la Tournelle', raisons: ['toutes les valeurs à 0'] },
    ],
    anomalies: [],
    top_counters: [m],
    total_velos: total,
    par_arrondissement: { '75012': total },
    profil_horaire: [],
    frequentation_index: 4.699,
    qualite: quality(48),
  };
}

function traffic(day = D, active = 12): TrafficMetrics {
  return {
    date: day,
    reliability_index: 97.5,
    active_disruptions_count: active,
    total_disruptions_count: 20,
    disruptions_by_severity: { CRITIQUE: 2, ELEVEE: 5, MOYENNE: 3, FAIBLE: 10 },
    disruptions_by_feed_severity: { perturbée: 8, bloquante: 2, information: 10 },
    top_lignes_impactees: [
      { ligne: 'RER B', mode: 'rer', count: 3 },
      { ligne: '7bis', mode: 'metro', count: 2 },
    ],
    lignes_impactees_par_mode: { metro: ['7bis', '13'], rer: ['RER B'], tram: [], bus: ['72'], train: [], autre: [] },
    alerts: [
      { id: 'd-1', titre: 'Travaux', severite: 'bloquante', priority: 10, duration_hours: 4.5, lignes: ['RER B'], bloquante: true },
    ],
    qualite: quality(20),
  };
}

function weather(day = D): WeatherMetrics {
  return {
    date: day,
    metrics: {
      date: day,
      temp_moyenne: 8.2,
      temp_min: 4.1,
      temp_max: 11.6,
      precip_totale: 6.4,
      vent_moyen: 18.5,
      conditions: 'Rain, Overcast',
      impact_mobilite: 20,
      source: 'visualcrossing',
    },
    impact_mobilite: 20,
    categories: ['Pluvieux', 'Froid'],
    qualite: quality(1),
  };
}

function chantiers(day = D, n = 2): ChantiersMetrics {
  const list = Array.from({ length: n }, (_, i) => ({
    identifiant: `CP00${i + 1}`,
    typologie: '2',
    impact: i % 2 === 0 ? 'IMPASSE' : 'RESTREINTE',
    arrondissement: '75005',
    date_debut: '2025-10-01',
    date_fin: day,
    objet: 'Réfection de chaussée',
    voie: 'Rue Monge',
    niveau_perturbation: 'Perturbant',
    surface_m2: 120.5,
    geo_point_2d: '48.84, 2.35',
  }));
  return {
    date: day,
    chantiers_actifs: list,
    impact_by_arrondissement: { '75005': 130 },
    zones_critiques: [],
    surface_totale_impactee_m2: 120.5 * n,
    total_chantiers_actifs: n,
    qualite: quality(n),
  };
}

function velib(day = D, mean = 10.5): VelibMetrics {
  return {
    date: day,
    snapshots: 96,
    stations: 1450,
    velos_disponibles_moyen: mean,
    velos_mecaniques_moyen: 6.25,
    velos_electriques_moyen: 4.25,
    part_stations_vides: 8.5,
    part_stations_pleines: 3.25,
    stations_souvent_vides: [{ station_code: '16107', nom: 'Benjamin Godard - Victor Hugo', part_vide: 75 }],
    par_arrondissement: { '75016': { stations: 80, velos_disponibles_moyen: 9.5, part_vide: 12 } },
    qualite: quality(139200),
  };
}

function referentiel(day = D): ReferentielMetrics {
  return {
    date: day,
    mapping: {
      '1': {
        libelle: 'Arc_1',
        longueur_metres: 250,
        noeud_amont: '10',
        noeud_aval: '11',
        geo_point_2d: '48.87, 2.31',
        center: [2.31, 48.87],
        arrondissement: '75008',
        troncons: 1,
        actif: true,
      },
    },
    statistiques: { nombre_troncons: 1, longueur_totale_metres: 250, longueur_moyenne_metres: 250, par_arrondissement: { '75008': 1 } },
    qualite: quality(1),
  };
}

function allMetrics(day = D): Required<MetricsByType> {
  return {
    comptages: comptages(day),
    referentiel: referentiel(day),
    chantiers: chantiers(day),
    bikes: bikes(day),
    traffic: traffic(day),
    weather: weather(day),
    velib: velib(day),
  };
}

const FILES: ReportFileEntry[] = [
  { source: 'weather', relPath: `api/weather/${D}/w.jsonl`, status: 'ok', records: 1, rejected: 0 },
  { source: 'comptages', relPath: 'batch/comptages-routiers-permanents.csv', status: 'ok', records: 72, rejected: 0 },
  { source: 'referentiel', relPath: 'batch/referentiel.csv', status: 'ok', records: 1 },
  { source: 'chantiers', relPath: 'batch/chantiers.csv', status: 'ok', records: 2 },
  { source: 'bikes', relPath: `api/bikes/dt=${D}/hour=02/b.json`, status: 'ok', records: 48 },
  { source: 'traffic', relPath: `api/traffic/dt=${D}/hour=02/t.json`, status: 'ok', records: 20 },
  { source: 'velib', relPath: `api/velib/${D}/v.jsonl`, status: 'ok', records: 139200 },
];

function input(over: Partial<ReportInput> = {}): ReportInput {
  const metrics = allMetrics();
  const q: Partial<Record<SourceName, QualityCounts>> = {};
  for (const s of SOURCES) q[s] = metrics[s].qualite;
  return {
    date: D,
    generatedAt: GENERATED,
    metrics,
    previousWeek: {},
    files: FILES,
    quality: q,
    expectedSources: [...SOURCES],
    ...over,
  };
}

/** Everything a JSON consumer sees (undefined dropped, NaN → null…). */
const asJson = (r: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(r));

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const OLD_KEYS = [
  'date',
  'generated_at',
  'summary',
  'top_10_troncons_frequentes',
  'top_10_zones_congestionnees',
  'capteurs_defaillants',
  'alertes_congestion',
  'chantiers_actifs',
  'evolution_vs_semaine_precedente',
  'meteo_impact',
];
const OLD_SUMMARY_KEYS = [
  'total_vehicules_paris',
  'temps_perdu_total_minutes',
  'nombre_troncons_satures',
  'taux_disponibilite_capteurs',
  'total_velos_paris',
];

// ───────────────────────────── builder ─────────────────────────────

describe('buildDailyReport', () => {
  it('keeps every old key (and the old summary keys) and adds the new ones', () => {
    const r = asJson(buildDailyReport(input()));
    for (const k of OLD_KEYS) expect(r).toHaveProperty([k]);
    for (const k of ['top_10_troncons_congestionnes', 'transports', 'velib', 'qualite_donnees', 'completude', 'statut']) {
      expect(r).toHaveProperty([k]);
    }
    expect(Object.keys(r.summary as object).sort()).toEqual([...OLD_SUMMARY_KEYS].sort());
    expect(r.date).toBe(D);
    expect(r.generated_at).toBe(GENERATED);
  });

  it('takes the summary numbers from the documents of D', () => {
    const r = buildDailyReport(input());
    expect(r.summary).toEqual({
      total_vehicules_paris: 52800,
      temps_perdu_total_minutes: 5400.5,
      nombre_troncons_satures: 1,
      taux_disponibilite_capteurs: 66.67,
      total_velos_paris: 4699,
    });
  });

  it('puts real zones in top_10_zones_congestionnees and arcs in top_10_troncons_congestionnes', () => {
    const r = buildDailyReport(input());
    expect(r.top_10_zones_congestionnees.map((z) => z.zone)).toEqual(['75017', '75008']);
    for (const z of r.top_10_zones_congestionnees) expect(z).not.toHaveProperty('identifiant_arc');
    expect(r.top_10_troncons_congestionnes.map((a) => a.identifiant_arc)).toEqual(['2', '1']);
    expect(r.top_10_troncons_frequentes.map((a) => a.identifiant_arc)).toEqual(['1', '2', '3']);
    expect(r.top_10_troncons_frequentes[0].debit_journalier_total).toBe(40000);
  });

  it('caps the lists like the old report (10 / 20) and keeps all active works', () => {
    const c = comptages();
    const many = Array.from({ length: 25 }, (_, i) => arc(String(100 + i), { congestion_alerte: true, severite: 'Élevée' }));
    c.top_10_troncons = many;
    c.top_10_troncons_congestionnes = many;
    c.top_10_zones_congestionnees = Array.from({ length: 14 }, (_, i) => zone(`750${String(i + 1).padStart(2, '0')}`, 100 - i));
    c.alertes_congestion = many;
    const r = buildDailyReport(input({ metrics: { ...allMetrics(), comptages: c, chantiers: chantiers(D, 30) } }));
    expect(r.top_10_troncons_frequentes).toHaveLength(10);
    expect(r.top_10_troncons_congestionnes).toHaveLength(10);
    expect(r.top_10_zones_congestionnees).toHaveLength(10);
    expect(r.alertes_congestion).toHaveLength(20);
    expect(r.chantiers_actifs).toHaveLength(30);
    expect(validateReport(r)).toEqual({ valid: true, errors: [] });
  });

  it('gives every congestion alert a severity', () => {
    const c = comptages();
    c.alertes_congestion = [
      arc('8', { congestion_alerte: true, severite: null, congestion_periodes: [{ debut: `${D}T07:00:00+01:00`, fin: `${D}T09:00:00+01:00`, duree_heures: 2, taux_max: 95, severite: 'Critique' }] }),
      arc('9', { congestion_alerte: true, severite: null }),
    ];
    const r = buildDailyReport(input({ metrics: { ...allMetrics(), comptages: c } }));
    expect(r.alertes_congestion.map((a) => a.severite)).toEqual(['Critique', 'Élevée']);
  });

  it('lists failing road sensors and failing bike counters together', () => {
    const b = bikes();
    b.failing_sensors.push('300030116-353354957'); // only in the old-style id list
    const r = buildDailyReport(input({ metrics: { ...allMetrics(), bikes: b } }));
    expect(r.capteurs_defaillants).toEqual([
      { id_compteur: '3', type: 'road', libelle: 'Arc_3', raisons: ['plus de 6 h sans débit'] },
      { id_compteur: '100003098-101003098', type: 'bike', libelle: 'Quai de la Tournelle', raisons: ['toutes les valeurs à 0'] },
      { id_compteur: '300030116-353354957', type: 'bike', raisons: [] },
    ]);
  });

  it('copies only the documented keys of list items', () => {
    const c = comptages();
    (c.top_10_troncons[0] as unknown as Record<string, unknown>).records_count = 24;
    const r = buildDailyReport(input({ metrics: { ...allMetrics(), comptages: c } }));
    expect(r.top_10_troncons_frequentes[0]).not.toHaveProperty('records_count');
    expect(validateReport(r).valid).toBe(true);
  });

  it('summarises transports, Vélib and weather for D', () => {
    const r = buildDailyReport(input());
    expect(r.transports).toMatchObject({
      reliability_index: 97.5,
      active_disruptions_count: 12,
      total_disruptions_count: 20,
      disruptions_by_severity: { CRITIQUE: 2, ELEVEE: 5, MOYENNE: 3, FAIBLE: 10 },
      nombre_lignes_impactees: 4,
      nombre_alertes: 1,
    });
    expect(r.transports!.lignes_impactees_par_mode.metro).toEqual(['7bis', '13']);
    expect(r.velib).toMatchObject({ snapshots: 96, velos_disponibles_moyen: 10.5, part_stations_vides: 8.5 });
    expect(r.meteo_impact).toEqual({ ...weather().metrics, categories: ['Pluvieux', 'Froid'] });
  });

  it('reports per-source record counts with at most 5 samples', () => {
    const q = quality(100, { bad_date: 3, empty_flow: 4 });
    const r = buildDailyReport(input({ quality: { ...input().quality, comptages: q } }));
    const cq = r.qualite_donnees.comptages!;
    expect(cq).toMatchObject({ records: 100, accepted: 93, rejected: { bad_date: 3, empty_flow: 4 }, rejected_total: 7 });
    expect(q.samples).toHaveLength(8);
    expect(cq.samples).toHaveLength(5);
    expect(cq.fichiers_en_echec).toEqual([]);
  });

  it('is pure: same input, same report; the input is not modified', () => {
    const frozen = deepFreeze(input());
    const a = buildDailyReport(frozen);
    const b = buildDailyReport(frozen);
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('rejects a bad date or a generatedAt without offset', () => {
    expect(() => buildDailyReport(input({ date: '2025-02-30' }))).toThrow(RangeError);
    expect(() => buildDailyReport(input({ generatedAt: '2025-11-05T02:00:00' }))).toThrow(RangeError);
  });
});

describe('evolution_vs_semaine_precedente', () => {
  it('compares D with D−7 when D−7 exists', () => {
    const prev: Partial<MetricsByType> = {
      comptages: comptages(D7, { total_vehicules_jour: 48000, temps_perdu_total_paris: 6000, nombre_troncons_satures: 0, taux_disponibilite_capteurs: 70 }),
      bikes: bikes(D7, 5000),
      traffic: traffic(D7, 8),
      chantiers: chantiers(D7, 4),
      velib: velib(D7, 12),
    };
    const e = buildDailyReport(input({ previousWeek: prev })).evolution_vs_semaine_precedente;
    expect(e.date_comparaison).toBe(D7);
    expect(e.disponible).toBe(true);
    expect(e.sources_comparees).toEqual(['comptages', 'chantiers', 'bikes', 'traffic', 'velib']);
    expect(e.total_vehicules).toEqual({ valeur: 52800, valeur_semaine_precedente: 48000, variation_absolue: 4800, variation_pourcent: 10 });
    expect(e.temps_perdu_total_minutes).toEqual({ valeur: 5400.5, valeur_semaine_precedente: 6000, variation_absolue: -599.5, variation_pourcent: -9.99 });
    // D−7 at 0: no percentage, but the absolute variation is known.
    expect(e.nombre_troncons_satures).toEqual({ valeur: 1, valeur_semaine_precedente: 0, variation_absolue: 1, variation_pourcent: null });
    expect(e.taux_disponibilite_capteurs.variation_pourcent).toBe(-4.76);
    expect(e.total_velos).toEqual({ valeur: 4699, valeur_semaine_precedente: 5000, variation_absolue: -301, variation_pourcent: -6.02 });
    expect(e.chantiers_actifs).toEqual({ valeur: 2, valeur_semaine_precedente: 4, variation_absolue: -2, variation_pourcent: -50 });
    expect(e.perturbations_actives).toEqual({ valeur: 12, valeur_semaine_precedente: 8, variation_absolue: 4, variation_pourcent: 50 });
    expect(e.velib_velos_disponibles_moyen).toEqual({ valeur: 10.5, valeur_semaine_precedente: 12, variation_absolue: -1.5, variation_pourcent: -12.5 });
  });

  it('writes explicit nulls when D−7 is absent', () => {
    const r = asJson(buildDailyReport(input()));
    const e = r.evolution_vs_semaine_precedente as Record<string, Record<string, unknown>>;
    expect(e.date_comparaison).toBe(D7);
    expect(e.disponible).toBe(false);
    expect(e.sources_comparees).toEqual([]);
    expect(typeof e.note).toBe('string');
    for (const k of EVOLUTION_INDICATORS) {
      expect(Object.keys(e[k]).sort()).toEqual(['valeur', 'valeur_semaine_precedente', 'variation_absolue', 'variation_pourcent']);
      expect(e[k].valeur).not.toBeNull();
      expect(e[k].valeur_semaine_precedente).toBeNull();
      expect(e[k].variation_absolue).toBeNull();
      expect(e[k].variation_pourcent).toBeNull();
    }
  });

  it('ignores a D−7 document dated another day, and nulls the D side of a missing source', () => {
    const prev = { bikes: bikes('2025-10-27', 5000), traffic: traffic(D7, 8) };
    const metrics: Partial<MetricsByType> = { ...allMetrics() };
    delete metrics.traffic;
    const e = buildDailyReport(input({ metrics, previousWeek: prev })).evolution_vs_semaine_precedente;
    expect(e.total_velos.valeur_semaine_precedente).toBeNull();
    expect(e.perturbations_actives).toEqual({ valeur: null, valeur_semaine_precedente: 8, variation_absolue: null, variation_pourcent: null });
    expect(e.disponible).toBe(false);
  });
});

describe('completude', () => {
  it('is complete when every expected source has data for D and no file failed', () => {
    const r = buildDailyReport(input());
    expect(r.statut).toBe('complet');
    expect(r.completude.statut).toBe('complet');
    expect(r.completude.sources_presentes).toEqual([...SOURCES]);
    expect(r.completude.sources_manquantes).toEqual([]);
    expect(r.completude.sources_partielles).toEqual([]);
    expect(r.completude.fichiers.map((f) => f.source)).toEqual([...SOURCES]); // sorted by source order
  });

  it('is incomplete when a source has no file; the summary shows 0 and the source is listed', () => {
    const metrics: Partial<MetricsByType> = { ...allMetrics() };
    delete metrics.comptages;
    const files = FILES.filter((f) => f.source !== 'comptages');
    const r = buildDailyReport(input({ metrics, files }));
    expect(r.statut).toBe('incomplet');
    expect(r.summary).toEqual({
      total_vehicules_paris: 0,
      temps_perdu_total_minutes: 0,
      nombre_troncons_satures: 0,
      taux_disponibilite_capteurs: 0,
      total_velos_paris: 4699,
    });
    expect(r.completude.sources_manquantes).toEqual([expect.objectContaining({ source: 'comptages', raison: 'aucun_fichier' })]);
    expect(r.completude.sources_presentes).not.toContain('comptages');
    expect(r.top_10_troncons_frequentes).toEqual([]);
    expect(r.capteurs_defaillants.every((c) => c.type === 'bike')).toBe(true);
    expect(validateReport(r)).toEqual({ valid: true, errors: [] });
  });

  it('names the failed file when a source is missing because its file failed', () => {
    const metrics: Partial<MetricsByType> = { ...allMetrics() };
    delete metrics.weather;
    const files = FILES.map((f) =>
      f.source === 'weather' ? { ...f, status: 'failed' as const, error: 'InputFormatError: not_json', records: undefined, rejected: undefined } : f,
    );
    const r = buildDailyReport(input({ metrics, files }));
    expect(r.statut).toBe('incomplet');
    const missing = r.completude.sources_manquantes;
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ source: 'weather', raison: 'fichier_en_echec' });
    expect(missing[0].detail).toContain(`api/weather/${D}/w.jsonl`);
    expect(missing[0].detail).toContain('not_json');
    expect(r.qualite_donnees.weather!.fichiers_en_echec).toEqual([{ relPath: `api/weather/${D}/w.jsonl`, error: 'InputFormatError: not_json' }]);
    expect(r.completude.fichiers.find((f) => f.source === 'weather')).toEqual({
      source: 'weather',
      relPath: `api/weather/${D}/w.jsonl`,
      status: 'failed',
      error: 'InputFormatError: not_json',
    });
    expect(r.meteo_impact).toEqual({});
    expect(validateReport(r).valid).toBe(true);
  });

  it('says "no data for D" when files were read but the document is empty for D', () => {
    const empty = comptages();
    empty.metrics = [];
    empty.top_10_troncons = [];
    empty.global_metrics.nombre_troncons_actifs = 0;
    const v = velib();
    v.snapshots = 0;
    const r = buildDailyReport(input({ metrics: { ...allMetrics(), comptages: empty, velib: v } }));
    expect(r.completude.sources_manquantes.map((m) => [m.source, m.raison])).toEqual([
      ['comptages', 'aucune_donnee'],
      ['velib', 'aucune_donnee'],
    ]);
    expect(r.summary.total_vehicules_paris).toBe(0);
    expect(r.velib).toBeNull();
  });

  it('does not use a document dated another day', () => {
    const r = buildDailyReport(input({ metrics: { ...allMetrics(), bikes: bikes('2025-11-01') } }));
    expect(r.summary.total_velos_paris).toBe(0);
    expect(r.completude.sources_manquantes).toEqual([
      { source: 'bikes', raison: 'aucune_donnee', detail: expect.stringContaining('2025-11-01') },
    ]);
  });

  it('is incomplete when a present source lost one of its files', () => {
    const files: ReportFileEntry[] = [...FILES, { source: 'bikes', relPath: `api/bikes/dt=${D}/hour=03/b.json`, status: 'failed', error: 'not JSON' }];
    const r = buildDailyReport(input({ files }));
    expect(r.statut).toBe('incomplet');
    expect(r.completude.sources_presentes).toContain('bikes');
    expect(r.completude.sources_manquantes).toEqual([]);
    expect(r.completude.sources_partielles).toEqual([
      { source: 'bikes', fichiers_en_echec: [{ relPath: `api/bikes/dt=${D}/hour=03/b.json`, error: 'not JSON' }] },
    ]);
    expect(validateReport(r).valid).toBe(true);
  });

  it('only requires the expected sources', () => {
    const metrics: Partial<MetricsByType> = { ...allMetrics() };
    delete metrics.velib;
    const quality = { ...input().quality };
    delete quality.velib;
    const r = buildDailyReport(
      input({
        metrics,
        quality,
        files: FILES.filter((f) => f.source !== 'velib'),
        expectedSources: ['comptages', 'bikes', 'traffic', 'weather', 'chantiers', 'referentiel'],
      }),
    );
    expect(r.statut).toBe('complet');
    expect(r.velib).toBeNull();
    expect(r.qualite_donnees).not.toHaveProperty('velib');
  });

  it('treats traffic and chantiers documents as present even with nothing active', () => {
    const t = traffic(D, 0);
    const c = chantiers(D, 0);
    const r = buildDailyReport(input({ metrics: { ...allMetrics(), traffic: t, chantiers: c } }));
    expect(r.statut).toBe('complet');
    expect(r.chantiers_actifs).toEqual([]);
  });
});

// ───────────────────────────── schema ─────────────────────────────

describe('validateReport', () => {
  it('loads the schema file next to the package', () => {
    expect(REPORT_SCHEMA_FILE.replace(/\\/g, '/')).toMatch(/libs\/domain\/report\.schema\.json$/);
  });

  it('accepts every built report, in memory and after a JSON round trip', () => {
    const missingAll = buildDailyReport(input({ metrics: {}, files: [], quality: {} }));
    const reports: DailyReport[] = [
      buildDailyReport(input()),
      buildDailyReport(input({ previousWeek: allMetrics(D7) })),
      missingAll,
    ];
    for (const r of reports) {
      expect(validateReport(r)).toEqual({ valid: true, errors: [] });
      expect(validateReport(asJson(r))).toEqual({ valid: true, errors: [] });
      expect(() => assertValidReport(r)).not.toThrow();
    }
    expect(missingAll.statut).toBe('incomplet');
    expect(missingAll.completude.sources_manquantes.map((m) => m.raison)).toEqual(SOURCES.map(() => 'aucun_fichier'));
  });

  it('lists what is wrong with a broken report', () => {
    const r = asJson(buildDailyReport(input())) as Record<string, any>;
    delete r.summary.total_velos_paris;
    r.summary.total_vehicules_paris = '52800';
    r.top_10_zones_congestionnees[0].surprise = true;
    r.evolution_vs_semaine_precedente.total_vehicules.valeur = Number.NaN;
    r.completude.statut = 'incomplet';
    const { valid, errors } = validateReport(r);
    expect(valid).toBe(false);
    expect(errors).toEqual(
      expect.arrayContaining([
        "/summary must have required property 'total_velos_paris'",
        '/summary/total_vehicules_paris must be number',
        '/top_10_zones_congestionnees/0 must NOT have additional properties (surprise)',
        '/evolution_vs_semaine_precedente/total_vehicules/valeur must be a finite number (got NaN)',
        expect.stringMatching(/^\/statut must equal \/completude\/statut/),
      ]),
    );
    expect(() => assertValidReport(r)).toThrow(ReportSchemaError);
    try {
      assertValidReport(r);
    } catch (e) {
      expect((e as ReportSchemaError).errors).toEqual(errors);
    }
  });

  it('rejects old-style values: arcs as zones, a timestamp without offset, more than 20 alerts', () => {
    const base = asJson(buildDailyReport(input())) as Record<string, any>;
    const arcsAsZones = { ...base, top_10_zones_congestionnees: base.top_10_troncons_frequentes };
    expect(validateReport(arcsAsZones).valid).toBe(false);
    expect(validateReport({ ...base, generated_at: '2025-11-04T05:31:50.926576' }).errors).toEqual([
      '/generated_at must match format "date-time"',
    ]);
    const alerts = Array.from({ length: 21 }, () => base.alertes_congestion[0]);
    expect(validateReport({ ...base, alertes_congestion: alerts }).errors).toEqual(['/alertes_congestion must NOT have more than 20 items']);
    expect(validateReport(null).valid).toBe(false);
  });
});

// ───────────────────────────── CSV ─────────────────────────────

/** Parse our CSV dialect with csv-parse, so quoting is checked by an independent reader. */
function parseCsv(text: string): string[][] {
  return parse(text, { delimiter: ';', relax_column_count: true, record_delimiter: '\r\n' }) as string[][];
}

describe('reportToCsv', () => {
  const report = buildDailyReport(input());
  const text = reportToCsv(report);
  const rows = parseCsv(text);

  it('is UTF-8 text without BOM, with CRLF after every line and no bare LF', () => {
    expect(text.charCodeAt(0)).not.toBe(0xfeff);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
  });

  it('starts with the old header and the 5 summary lines, then the `;` separator', () => {
    const lines = text.split('\r\n');
    expect(lines.slice(0, 8)).toEqual([
      'Section;Valeur',
      'Total véhicules Paris;52800',
      'Temps perdu total (min);5400.5',
      'Tronçons saturés;1',
      'Taux disponibilité capteurs (%);66.67',
      'Total vélos Paris;4699',
      ';',
      '=== TOP 10 TRONÇONS FRÉQUENTÉS ===;',
    ]);
    expect(LEGACY_SUMMARY_LABELS).toEqual(lines.slice(1, 6).map((l) => l.split(';')[0]));
  });

  it('writes the old sections in the old order, each after a `;` line, before any new section', () => {
    const titles = rows.map((r) => r[0]).filter((c) => /^=== .* ===$/.test(c));
    expect(titles.slice(0, LEGACY_CSV_SECTIONS.length)).toEqual([...LEGACY_CSV_SECTIONS]);
    expect(titles.slice(LEGACY_CSV_SECTIONS.length)).toEqual([...NEW_CSV_SECTIONS]);
    const lines = text.split('\r\n');
    for (const t of [...LEGACY_CSV_SECTIONS, ...NEW_CSV_SECTIONS]) {
      const i = lines.indexOf(`${t};`);
      expect(i).toBeGreaterThan(0);
      expect(lines[i - 1]).toBe(';');
    }
  });

  it('keeps every column of the old sections', () => {
    const lines = text.split('\r\n');
    for (const t of LEGACY_CSV_SECTIONS) {
      const i = lines.indexOf(`${t};`);
      expect(lines[i + 1]).toBe(LEGACY_CSV_COLUMNS[t].join(';'));
    }
    expect(lines).toContain('Tronçon;Taux Occupation (%);Sévérité');
    expect(lines).toContain('Bd_Périphérique;91.5;Critique');
    expect(lines).toContain('Identifiant;Typologie;Impact;Arrondissement');
    expect(lines).toContain('CP001;2;IMPASSE;75005');
    expect(lines).toContain('ID Capteur;Type');
    expect(lines).toContain('3;road');
    expect(lines).toContain('100003098-101003098;bike');
    expect(lines).toContain('Zone;Temps Perdu (min)');
    expect(lines).toContain('75017;5400.5');
    expect(lines).toContain('Arc_1;40000');
  });

  it('writes the old empty-section lines instead of header and rows', () => {
    const empty = buildDailyReport(input({ metrics: {}, files: [], quality: {} }));
    const lines = reportToCsv(empty).split('\r\n');
    for (const t of LEGACY_CSV_SECTIONS) {
      const i = lines.indexOf(`${t};`);
      expect(lines[i + 1]).toBe(`${LEGACY_EMPTY_LINES[t]};`);
    }
    expect(lines).toContain('Aucune donnée disponible;');
    expect(lines).toContain('Aucun capteur défaillant;');
    expect(lines).toContain('Aucune alerte;');
    expect(lines).toContain('Aucun chantier actif;');
    expect(lines.slice(1, 6).map((l) => l.split(';')[1])).toEqual(['0', '0', '0', '0', '0']);
  });

  it('caps the old 20-row sections', () => {
    const r = buildDailyReport(input({ metrics: { ...allMetrics(), chantiers: chantiers(D, 30) } }));
    const lines = reportToCsv(r).split('\r\n');
    const start = lines.indexOf('Identifiant;Typologie;Impact;Arrondissement');
    const end = lines.indexOf(';', start);
    expect(end - start - 1).toBe(20);
  });

  it('quotes a libellé holding `;` or `"` and reads back the same text', () => {
    const c = comptages();
    c.top_10_troncons[0] = arc('1', { libelle: 'Quai "Branly"; sortie', debit_journalier_total: 40000 });
    const csv = reportToCsv(buildDailyReport(input({ metrics: { ...allMetrics(), comptages: c } })));
    expect(csv).toContain('"Quai ""Branly""; sortie";40000\r\n');
    const parsed = parseCsv(csv);
    expect(parsed).toContainEqual(['Quai "Branly"; sortie', '40000']);
  });

  it('escapes data cells that a spreadsheet would run as formulas, not the section titles or numbers', () => {
    const c = comptages();
    c.top_10_troncons[0] = arc('1', { libelle: '=HYPERLINK("http://x")', debit_journalier_total: 40000 });
    c.top_10_troncons[1] = arc('2', { libelle: '+33 rue', debit_journalier_total: 30000 });
    c.top_10_troncons[2] = arc('3', { libelle: '@SUM(A1)', debit_journalier_total: 20000 });
    const ch = chantiers();
    ch.chantiers_actifs[0].identifiant = '-2+3';
    const prev = { comptages: comptages(D7, { total_vehicules_jour: 60000 }) };
    const csv = reportToCsv(buildDailyReport(input({ metrics: { ...allMetrics(), comptages: c, chantiers: ch }, previousWeek: prev })));
    const parsed = parseCsv(csv);
    expect(parsed).toContainEqual(["'=HYPERLINK(\"http://x\")", '40000']);
    expect(parsed).toContainEqual(["'+33 rue", '30000']);
    expect(parsed).toContainEqual(["'@SUM(A1)", '20000']);
    expect(parsed).toContainEqual(["'-2+3", '2', 'IMPASSE', '75005']);
    expect(csv).toContain('=== TOP 10 TRONÇONS FRÉQUENTÉS ===;\r\n');
    // A negative number stays a number.
    expect(parsed).toContainEqual(['Total véhicules', '52800', '60000', '-7200', '-12']);
    expect(escapeFormula('-1')).toBe("'-1");
    expect(escapeFormula('Bd_Ney')).toBe('Bd_Ney');
  });

  it('prints numbers plainly and null as an empty cell', () => {
    const c = comptages();
    c.alertes_congestion = [arc('7', { libelle: 'Rue_X', congestion_alerte: true, severite: 'Élevée', taux_occupation_moyen: null })];
    const lines = reportToCsv(buildDailyReport(input({ metrics: { ...allMetrics(), comptages: c } }))).split('\r\n');
    expect(lines).toContain('Rue_X;;Élevée');
    expect(lines).toContain('Taux disponibilité capteurs (%);66.67');
  });

  it('ends with the completeness section listing missing sources and failed files', () => {
    const metrics: Partial<MetricsByType> = { ...allMetrics() };
    delete metrics.weather;
    const files = FILES.map((f) => (f.source === 'weather' ? { ...f, status: 'failed' as const, error: 'not JSON' } : f));
    const lines = reportToCsv(buildDailyReport(input({ metrics, files }))).split('\r\n');
    const i = lines.indexOf('=== COMPLÉTUDE ===;');
    const tail = lines.slice(i);
    expect(tail).toContain('Statut;incomplet');
    expect(tail).toContain(`weather;fichier_en_echec;api/weather/${D}/w.jsonl : not JSON`);
    expect(tail).toContain(`api/weather/${D}/w.jsonl;weather;failed;1;0;not JSON`);
  });
});
