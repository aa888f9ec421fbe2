/**
 * The bundled sample day through the real services (separate processes, real Redis). The report's
 * numbers are checked against values computed here from the raw files with plain code, and against
 * data/sample/expected.json (written by tools/build_sample.py with its own independent code).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { ProcessChunk, QueueName } from '@cityflow/contracts';
import { workerConnection } from '@cityflow/common';
import { fileRefFor, validateReport } from '@cityflow/domain';
import { hashTree, startTestStack, TestStack } from './stack-helper';

const ROOT = path.resolve(__dirname, '../..');
const RAW = path.join(ROOT, 'data/sample/raw');
const DAY = '2025-02-04';
const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'data/sample/expected.json'), 'utf8'));

/** Independent reading of the comptages CSV: naive `;` split (no field of this export holds `;` or a newline). */
function comptagesDay() {
  const lines = fs.readFileSync(path.join(RAW, 'batch/comptages-routiers-permanents.csv'), 'utf8').split('\r\n').filter(Boolean);
  const arcs = new Map<string, { hour: number; debit: number | null; taux: number | null }[]>();
  let debitTotal = 0;
  for (const line of lines.slice(1)) {
    const f = line.split(';');
    if (f.length !== 15) continue;
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):00:00\+01:00$/.exec(f[2]);
    if (!m || (f[3] !== '' && !/^\d+(\.\d+)?$/.test(f[3]))) continue;
    // Hour-ending convention, February (+01:00 all day): stamp D+1T00 closes D's 23:00 hour.
    const hourStart = Number(m[2]) - 1;
    const day = hourStart >= 0 ? m[1] : null;
    const inDay = (day === DAY) || (m[1] === '2025-02-05' && m[2] === '00');
    if (!inDay) continue;
    const h = hourStart >= 0 ? hourStart : 23;
    const debit = f[3] === '' ? null : Number(f[3]);
    const taux = f[4] === '' ? null : Number(f[4]);
    if (debit !== null) debitTotal += debit;
    if (!arcs.has(f[0])) arcs.set(f[0], []);
    arcs.get(f[0])!.push({ hour: h, debit, taux });
  }
  const congested = new Map<string, string>();
  let available = 0;
  const failing = new Set<string>();
  for (const [arc, hours] of arcs) {
    hours.sort((a, b) => a.hour - b.hour);
    let run: typeof hours = [];
    const runs: (typeof hours)[] = [];
    for (const h of hours) {
      const prev = run[run.length - 1];
      if (h.taux !== null && h.taux >= 80 && (!prev || prev.hour === h.hour - 1)) run.push(h);
      else {
        if (run.length) runs.push(run);
        run = h.taux !== null && h.taux >= 80 ? [h] : [];
      }
    }
    if (run.length) runs.push(run);
    const alerts = runs.filter((r) => r.length >= 2);
    if (alerts.length) congested.set(arc, alerts.some((r) => r.some((h) => (h.taux as number) >= 90)) ? 'Critique' : 'Élevée');
    if (hours.filter((h) => h.debit !== null || h.taux !== null).length >= 18) available++;
    if (24 - hours.filter((h) => h.debit !== null).length > 6) failing.add(arc);
    let same = 1;
    for (let i = 1; i < hours.length; i++) {
      const a = hours[i - 1];
      const b = hours[i];
      same = b.hour === a.hour + 1 && b.debit !== null && b.debit !== 0 && b.debit === a.debit ? same + 1 : 1;
      if (same >= 12) failing.add(arc);
    }
  }
  return { arcs: arcs.size, debitTotal, congested, availability: Math.round((available / arcs.size) * 100 * 100) / 100, failing };
}

describe('sample day end to end (real services)', () => {
  let stack: TestStack;
  let report: Record<string, any>;
  let runId: string;

  beforeAll(async () => {
    stack = await startTestStack({}, 2);
    const r = await stack.run(DAY, RAW);
    runId = r.runId;
    expect(r.status).toBe('completed');
    report = JSON.parse(fs.readFileSync(path.join(stack.outputDir, 'reports', `daily_report_${DAY}.json`), 'utf8'));
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('publishes a complete report that validates against the schema', () => {
    expect(report.date).toBe(DAY);
    expect(report.completude.statut).toBe('complet');
    expect(validateReport(report)).toEqual({ valid: true, errors: [] });
    expect(fs.existsSync(path.join(stack.outputDir, 'reports', `daily_report_${DAY}.csv`))).toBe(true);
    for (const type of ['comptages', 'referentiel', 'chantiers', 'bikes', 'traffic', 'weather', 'velib'])
      expect(fs.existsSync(path.join(stack.outputDir, 'metrics', `${type}_metrics_${DAY}.json`))).toBe(true);
  });

  it('road numbers equal an independent computation from the raw CSV', () => {
    const ind = comptagesDay();
    expect(ind.debitTotal).toBe(expected.comptages.day.debit_total);
    expect(report.summary.total_vehicules_paris).toBe(ind.debitTotal);
    expect(report.summary.nombre_troncons_satures).toBe(ind.congested.size);
    expect(report.summary.taux_disponibilite_capteurs).toBeCloseTo(ind.availability, 2);
    const alerts = new Map<string, string>(report.alertes_congestion.map((a: any) => [a.identifiant_arc, a.severite]));
    expect(alerts).toEqual(ind.congested);
    const road = report.capteurs_defaillants.filter((c: any) => c.type === 'road').map((c: any) => c.id_compteur);
    expect(new Set(road)).toEqual(ind.failing);
    expect(report.top_10_troncons_frequentes.map((a: any) => Number(a.identifiant_arc))).toEqual(
      expected.comptages.day.top10_arcs_by_debit_total.map((a: any) => a.arc),
    );
    // Real zones (arrondissements), not arcs.
    for (const z of report.top_10_zones_congestionnees) expect(z.zone).toMatch(/^750\d\d$|^Hors Paris$/);
  });

  it('counts and names the malformed rows', () => {
    const q = report.qualite_donnees.comptages;
    expect(q.rejected).toEqual({ bad_date: 2, bad_debit: 1, field_count: 2 });
    expect(q.records).toBe(expected.comptages.data_records);
  });

  it('other sections are right for the day', () => {
    expect(report.chantiers_actifs.map((c: any) => c.identifiant).sort()).toEqual([...expected.chantiers.day.active_ids].sort());
    expect(report.meteo_impact.temp_moyenne).toBe(expected.weather['2025-02-04'].temp);
    expect(report.meteo_impact.categories).toEqual(['Froid']);
    expect(report.transports.active_disruptions_count).toBe(expected.traffic.day.active_disruptions);
    expect(report.velib.snapshots).toBe(expected.velib.day.snapshots);
    expect(report.summary.total_velos_paris).toBeGreaterThan(0);
  });

  it('running the same day again leaves every output byte-identical', async () => {
    const pick = (rel: string) => rel.startsWith('metrics/') || rel.startsWith('reports/');
    const before = hashTree(stack.outputDir, pick);
    const again = await stack.run(DAY, RAW);
    expect(again.status).toBe('completed');
    expect(hashTree(stack.outputDir, pick)).toEqual(before);
  }, 300_000);

  it('re-running one chunk job from scratch rewrites identical partials and outputs', async () => {
    const run = JSON.parse(fs.readFileSync(path.join(stack.outputDir, 'state/runs', `${runId}.json`), 'utf8'));
    const file = run.files.find((f: any) => f.source === 'comptages');
    const summaryFile = path.join(stack.outputDir, 'state/chunks/comptages', file.fileKey, '0.json');
    const pick = (rel: string) => rel.startsWith('metrics/') || rel.startsWith('reports/') || rel.startsWith('state/partials/');
    const before = hashTree(stack.outputDir, pick);
    fs.rmSync(summaryFile); // forces real re-processing instead of the cached summary
    const queue = new Queue(QueueName.Process, { connection: workerConnection(stack.config.redisUrl), prefix: stack.config.queuePrefix });
    try {
      const job = await queue.add(
        ProcessChunk.name,
        ProcessChunk.parse({ schemaVersion: 1, runId, rawDir: RAW, file: fileRefFor(RAW, path.join(RAW, file.relPath), 'comptages'), range: { index: 0, start: 0, end: file.size } }),
        { jobId: `${runId}-replay-c0` },
      );
      for (let i = 0; i < 600 && !(await job.isCompleted()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await job.isCompleted()).toBe(true);
      expect((await queue.getJob(job.id!))!.returnvalue.cached).toBe(false);
    } finally {
      await queue.close();
    }
    expect(fs.existsSync(summaryFile)).toBe(true);
    const again = await stack.run(DAY, RAW);
    expect(again.status).toBe('completed');
    expect(hashTree(stack.outputDir, pick)).toEqual(before);
  }, 300_000);
});
