import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppConfig, loadConfig } from '@cityflow/common';
import { testRedisUrl, uniquePrefix } from '@cityflow/testing';
import { createApp } from '../src/app.module';

export const DAY = '2025-11-04';
export const OTHER_DAY = '2025-11-03';
export const API_KEY = 'test-key-0123456789';
export const BOARD_USER = 'admin';
export const BOARD_PASSWORD = 'board-secret';

export function arc(id: string, arrondissement: string, debit: number, extra: Record<string, unknown> = {}) {
  return {
    date: DAY,
    identifiant_arc: id,
    libelle: `Arc ${id}`,
    debit_horaire_moyen: Math.round((debit / 24) * 100) / 100,
    debit_journalier_total: debit,
    debit_max: Math.round(debit / 10),
    heure_pic: `${DAY}T08:00:00+01:00`,
    taux_occupation_moyen: 12.5,
    etat_trafic_dominant: 'Fluide',
    heures_mesurees: 24,
    longueur_metres: 500,
    longueur_source: 'defaut',
    temps_perdu_minutes: 0.5,
    temps_perdu_total_minutes: debit / 100,
    congestion_alerte: false,
    severite: null,
    congestion_periodes: [],
    arrondissement,
    zone_fallback: arrondissement,
    geo_point_2d: '48.86, 2.34',
    ...extra,
  };
}

export const ARCS = [
  arc('101', '75001', 12000),
  arc('102', '75001', 800, { taux_occupation_moyen: null }),
  arc('103', '75008', 25000, { congestion_alerte: true, severite: 'Critique', etat_trafic_dominant: 'Saturé' }),
  arc('104', '75012', 4000),
  arc('105', 'Hors Paris', 9000),
];

export const COMPTAGES = {
  date: DAY,
  metrics: ARCS,
  top_10_troncons: ARCS.slice().sort((a, b) => b.debit_journalier_total - a.debit_journalier_total),
  top_10_troncons_congestionnes: [],
  top_10_zones_congestionnees: [],
  top_zones_affluence: [],
  alertes_congestion: [ARCS[2]],
  capteurs_defaillants: [{ id_compteur: '104', type: 'road', libelle: 'Arc 104', raisons: ['> 6 h sans donnée'] }],
  global_metrics: {
    date: DAY,
    total_vehicules_jour: 50800,
    nombre_troncons_actifs: 5,
    moyenne_debit_par_troncon: 10160,
    taux_occupation_moyen: 12.5,
    temps_perdu_total_paris: 508,
    temps_perdu_total_heures: 8.47,
    nombre_troncons_satures: 1,
    taux_disponibilite_capteurs: 80,
    repartition_etat_trafic: { Fluide: 96, 'Pré-saturé': 0, Saturé: 24, Bloqué: 0, Inconnu: 0 },
    heures_dans_la_journee: 24,
    profil_horaire: Array.from({ length: 24 }, (_, h) => ({ heure: `${DAY}T${String(h).padStart(2, '0')}:00:00+01:00`, debit_total: 1000 + h * 50, taux_occupation_moyen: 10, arcs_mesures: 5 })),
  },
  qualite: { records: 120, accepted: 118, rejected: { debit_invalide: 2 }, samples: [] },
};

export const WEATHER = {
  date: DAY,
  metrics: { date: DAY, temp_moyenne: 9.4, temp_min: 6.1, temp_max: 12.8, precip_totale: 6.2, vent_moyen: 18.5, conditions: 'Rain', impact_mobilite: 35, source: 'visualcrossing' },
  impact_mobilite: 35,
  categories: ['Pluvieux', 'Froid'],
  qualite: { records: 1, accepted: 1, rejected: {}, samples: [] },
};

export const REPORT = {
  date: DAY,
  generated_at: `${DAY}T23:59:00+01:00`,
  statut: 'incomplet',
  summary: { total_vehicules_paris: 50800, temps_perdu_total_minutes: 508, nombre_troncons_satures: 1, taux_disponibilite_capteurs: 80, total_velos_paris: 0 },
  top_10_troncons_frequentes: COMPTAGES.top_10_troncons,
  top_10_zones_congestionnees: [],
  top_10_troncons_congestionnes: [],
  capteurs_defaillants: COMPTAGES.capteurs_defaillants,
  alertes_congestion: [ARCS[2]],
  chantiers_actifs: [],
  evolution_vs_semaine_precedente: { date_comparaison: '2025-10-28', disponible: false, sources_comparees: [], note: 'Aucune donnée pour 2025-10-28' },
  meteo_impact: { ...WEATHER.metrics, categories: WEATHER.categories },
  transports: null,
  velib: null,
  qualite_donnees: {},
  completude: { statut: 'incomplet', sources_attendues: [], sources_presentes: ['comptages', 'weather'], sources_manquantes: [], sources_partielles: [], fichiers: [] },
};

export const REPORT_CSV = '\uFEFFSection;Indicateur;Valeur\r\nRésumé;Total véhicules;50800\r\n';

/** An output folder laid out like FsStore's, with hand-written documents for DAY and OTHER_DAY. */
export function makeOutputDir(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-api-'));
  const out = path.join(root, 'output');
  fs.mkdirSync(path.join(out, 'metrics'), { recursive: true });
  fs.mkdirSync(path.join(out, 'reports'), { recursive: true });
  fs.mkdirSync(path.join(out, 'state', 'runs'), { recursive: true });
  const put = (rel: string, content: unknown) => fs.writeFileSync(path.join(out, rel), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  put(`metrics/comptages_metrics_${DAY}.json`, COMPTAGES);
  put(`metrics/weather_metrics_${DAY}.json`, WEATHER);
  put(`metrics/weather_metrics_${OTHER_DAY}.json`, { ...WEATHER, date: OTHER_DAY });
  put(`reports/daily_report_${DAY}.json`, REPORT);
  put(`reports/daily_report_${DAY}.csv`, REPORT_CSV);
  // A file next to the output folder that a traversal would reach.
  fs.writeFileSync(path.join(root, 'canary.json'), '{"secret": true}');
  return root;
}

export function testConfig(root: string, env: Record<string, string | undefined> = {}): AppConfig {
  const merged: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: uniquePrefix('api'),
    OUTPUT_DIR: path.join(root, 'output'),
    DATA_DIR_RAW: path.join(root, 'raw'),
    API_KEY,
    BOARD_USER,
    BOARD_PASSWORD,
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return loadConfig(merged, root);
}

export async function startApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await createApp(config);
  await app.init();
  return app;
}

/** Resolve once `check` holds, or fail after `ms`. */
export async function waitFor(check: () => Promise<boolean> | boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
