/**
 * Eight consecutive days through the real services (separate processes, real Redis), from a raw
 * tree built by `tools/build_sample.py --start 2025-01-28 --days 8`. Every day's report is checked
 * against the facts the script computed from its own files, and the last day against the first
 * (week-on-week evolution). A second stack runs one day whose weather folder was deleted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVOLUTION_INDICATORS, validateReport } from '@cityflow/domain';
import { buildMultiDayTree, copyRawTree, MultiDayTree } from './multi-day-tree';
import { startTestStack, TestStack } from './stack-helper';

const START = '2025-01-28';
const DAYS = 8;

let tree: MultiDayTree;

beforeAll(() => {
  tree = buildMultiDayTree(START, DAYS);
}, 120_000);

afterAll(() => {
  tree?.remove();
});

function readReport(outputDir: string, day: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(outputDir, 'reports', `daily_report_${day}.json`), 'utf8'));
}

describe('eight consecutive days end to end (real services)', () => {
  let stack: TestStack;
  const runs: { day: string; status: string; error?: string }[] = [];
  const reports: Record<string, Record<string, any>> = {};

  beforeAll(async () => {
    expect(tree.expected.dates).toHaveLength(DAYS);
    stack = await startTestStack({}, 2);
    for (const day of tree.expected.dates) {
      const r = await stack.run(day, tree.raw);
      runs.push({ day, status: r.status, error: r.error });
      const file = path.join(stack.outputDir, 'reports', `daily_report_${day}.json`);
      if (fs.existsSync(file)) reports[day] = readReport(stack.outputDir, day);
    }
  }, 1_800_000);

  afterAll(async () => {
    await stack?.stop();
    if (stack) fs.rmSync(stack.outputDir, { recursive: true, force: true });
  });

  it('the generator covers the eight days with the designed cases', () => {
    expect(tree.expected.dates[0]).toBe(START);
    expect(tree.expected.dates[DAYS - 1]).toBe('2025-02-04');
    for (const day of tree.expected.dates) {
      const f = tree.expected.by_day[day];
      expect(f.comptages.arcs).toBe(150);
      expect(f.comptages.congested_arcs_count).toBeGreaterThanOrEqual(2);
      expect(f.velib.snapshots).toBe(2);
      expect(f.chantiers_active).toBeGreaterThan(0);
    }
  });

  it('runs every day and publishes 8 complete reports that validate against the schema', () => {
    expect(runs.map((r) => [r.day, r.status, r.error ?? null])).toEqual(tree.expected.dates.map((d) => [d, 'completed', null]));
    expect(Object.keys(reports).sort()).toEqual(tree.expected.dates);
    for (const day of tree.expected.dates) {
      const report = reports[day];
      expect(report.date).toBe(day);
      expect({ day, statut: report.completude.statut, manquantes: report.completude.sources_manquantes }).toEqual({
        day,
        statut: 'complet',
        manquantes: [],
      });
      expect({ day, ...validateReport(report) }).toEqual({ day, valid: true, errors: [] });
      expect(fs.existsSync(path.join(stack.outputDir, 'reports', `daily_report_${day}.csv`))).toBe(true);
    }
  });

  it("each day's total vehicles equals the generator's per-day total", () => {
    const got = Object.fromEntries(tree.expected.dates.map((d) => [d, reports[d]?.summary.total_vehicules_paris]));
    const want = Object.fromEntries(tree.expected.dates.map((d) => [d, tree.expected.by_day[d].comptages.debit_total]));
    expect(got).toEqual(want);
  });

  it('counts the malformed rows of the comptages file (one per day) in every report', () => {
    for (const day of tree.expected.dates) {
      const q = reports[day].qualite_donnees.comptages;
      expect({ day, records: q.records, rejected: q.rejected_total }).toEqual({
        day,
        records: tree.expected.comptages.data_records,
        rejected: tree.expected.comptages.malformed_rows,
      });
    }
  });

  it("each day's other sections match the generator's facts", () => {
    for (const day of tree.expected.dates) {
      const f = tree.expected.by_day[day];
      const r = reports[day];
      const alerts = Object.fromEntries(r.alertes_congestion.map((a: any) => [a.identifiant_arc, a.severite]));
      const failingBikes = Object.fromEntries(
        r.capteurs_defaillants.filter((c: any) => c.type === 'bike').map((c: any) => [c.id_compteur, [...c.raisons].sort()]),
      );
      const wantFailing = Object.fromEntries(Object.entries(f.bikes.failing_counters).map(([k, v]) => [k, [...v].sort()]));
      expect({
        day,
        satures: r.summary.nombre_troncons_satures,
        alerts,
        velos: r.summary.total_velos_paris,
        failingBikes,
        chantiers: r.chantiers_actifs.length,
        temp: r.meteo_impact.temp_moyenne,
        velib: r.velib?.snapshots,
        disruptions: r.transports?.active_disruptions_count,
      }).toEqual({
        day,
        satures: f.comptages.congested_arcs_count,
        alerts: f.comptages.congested_arcs,
        velos: f.bikes.total_non_failing,
        failingBikes: wantFailing,
        chantiers: f.chantiers_active,
        temp: f.weather.temp,
        velib: f.velib.snapshots,
        disruptions: f.traffic_active_disruptions,
      });
    }
  });

  it('the last day (2025-02-04) compares with the first (2025-01-28)', () => {
    const first = tree.expected.dates[0];
    const last = tree.expected.dates[DAYS - 1];
    const evo = reports[last].evolution_vs_semaine_precedente;
    const t1 = reports[first].summary.total_vehicules_paris;
    const t8 = reports[last].summary.total_vehicules_paris;
    expect(evo.date_comparaison).toBe(first);
    expect(evo.disponible).toBe(true);
    expect(evo.total_vehicules.valeur).toBe(t8);
    expect(evo.total_vehicules.valeur_semaine_precedente).toBe(t1);
    expect(evo.total_vehicules.valeur_semaine_precedente).toBe(tree.expected.by_day[first].comptages.debit_total);
    expect(evo.total_vehicules.variation_absolue).toBe(t8 - t1);
    expect(evo.total_velos.valeur_semaine_precedente).toBe(tree.expected.by_day[first].bikes.total_non_failing);
    expect(evo.sources_comparees).toEqual(expect.arrayContaining(['comptages', 'bikes', 'chantiers', 'traffic', 'velib']));
  });

  it('the first day has no D−7 and says so with explicit nulls', () => {
    const evo = reports[tree.expected.dates[0]].evolution_vs_semaine_precedente;
    expect(evo.date_comparaison).toBe('2025-01-21');
    expect(evo.disponible).toBe(false);
    expect(evo.sources_comparees).toEqual([]);
    for (const name of EVOLUTION_INDICATORS) {
      expect(evo[name]).toHaveProperty('valeur_semaine_precedente', null);
      expect(evo[name]).toHaveProperty('variation_absolue', null);
      expect(evo[name]).toHaveProperty('variation_pourcent', null);
    }
    expect(evo.total_vehicules.valeur).toBe(tree.expected.by_day[tree.expected.dates[0]].comptages.debit_total);
  });
});

describe('a day whose weather files are missing (real services)', () => {
  const DAY = '2025-02-02';
  let stack: TestStack;
  let raw: string;
  let status: string;
  let report: Record<string, any>;

  beforeAll(async () => {
    raw = copyRawTree(tree.raw);
    const weatherDir = path.join(raw, 'api', 'weather', `dt=${DAY}`);
    expect(fs.existsSync(weatherDir)).toBe(true);
    fs.rmSync(weatherDir, { recursive: true });
    stack = await startTestStack({}, 1);
    status = (await stack.run(DAY, raw)).status;
    report = readReport(stack.outputDir, DAY);
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
    if (stack) fs.rmSync(stack.outputDir, { recursive: true, force: true });
    if (raw) fs.rmSync(path.dirname(raw), { recursive: true, force: true });
  });

  it('publishes an incomplete report that names weather as missing', () => {
    expect(status).toBe('incomplete');
    expect(report.statut).toBe('incomplet');
    expect(report.completude.statut).toBe('incomplet');
    expect(report.completude.sources_manquantes).toEqual([
      { source: 'weather', raison: 'aucun_fichier', detail: expect.stringContaining(DAY) },
    ]);
    expect(report.completude.sources_presentes).not.toContain('weather');
    expect(report.completude.fichiers.some((f: any) => f.source === 'weather')).toBe(false);
    expect(report.meteo_impact).toEqual({});
    expect(validateReport(report)).toEqual({ valid: true, errors: [] });
  });

  it('the sources that are there keep their numbers', () => {
    const f = tree.expected.by_day[DAY];
    expect(report.summary.total_vehicules_paris).toBe(f.comptages.debit_total);
    expect(report.summary.total_velos_paris).toBe(f.bikes.total_non_failing);
    expect(report.chantiers_actifs).toHaveLength(f.chantiers_active);
  });
});
