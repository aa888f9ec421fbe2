/**
 * The same multi-day file processed whole and cut into many chunks gives byte-identical metrics
 * (for every day in the file) and an identical report. Real services, real Redis.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixture } from '@cityflow/testing';
import { hashTree, makeRawTree, startTestStack, TestStack } from './stack-helper';

const COMPTAGES = fixture('real/comptages-routiers-permanents/louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv');
const REFERENTIEL = fixture('real/referentiel-geographique-capteurs/noobzik_referentiel-comptages-routiers_snapshot-2022-02.csv');
const DAY = '2024-10-27'; // 25-hour day

/**
 * Days covered by the file, computed independently: each stamp T carries its Paris offset, and the
 * row counts the hour ending at T, so its day is the local date of T − 1 h in that same offset.
 */
function daysInFile(file: string): string[] {
  const days = new Set<string>();
  for (const line of fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).slice(1)) {
    const m = /;(\d{4})-(\d{2})-(\d{2})T(\d{2}):00:00\+0(\d):00;/.exec(line);
    if (!m) continue;
    const local = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4]) - 3_600_000; // wall clock of the hour start
    days.add(new Date(local).toISOString().slice(0, 10));
  }
  return [...days].sort();
}

describe('chunked vs unchunked (real services)', () => {
  let whole: TestStack;
  let chunked: TestStack;
  let raw: string;

  beforeAll(async () => {
    raw = makeRawTree({ 'batch/comptages-washington.csv': COMPTAGES, 'batch/referentiel-comptages-routiers.csv': REFERENTIEL });
    const common = { SOURCE_DATE_EPOCH: '1735689600' };
    [whole, chunked] = await Promise.all([
      startTestStack(common),
      // 0.05 MB threshold and 60-row chunks: the 393 kB file becomes ~20 chunks.
      startTestStack({ ...common, MAX_FILE_SIZE_MB: '0.05', EC2_CHUNK_SIZE: '60' }, 2),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([whole?.stop(), chunked?.stop()]);
  });

  it('writes identical bytes for every metrics file and the report', async () => {
    const a = await whole.run(DAY, raw);
    const b = await chunked.run(DAY, raw);
    expect(a.status).not.toBe('failed');
    expect(b.status).not.toBe('failed');

    const runB = JSON.parse(fs.readFileSync(path.join(chunked.outputDir, 'state/runs', `${b.runId}.json`), 'utf8'));
    const comptagesFile = runB.files.find((f: { source: string }) => f.source === 'comptages');
    expect(comptagesFile.chunked).toBe(true);
    const chunkSummaries = fs.readdirSync(path.join(chunked.outputDir, 'state/chunks/comptages', comptagesFile.fileKey));
    expect(chunkSummaries.length).toBeGreaterThanOrEqual(15);

    const pick = (rel: string) => rel.startsWith('metrics/') || rel.startsWith('reports/');
    const ha = hashTree(whole.outputDir, pick);
    const hb = hashTree(chunked.outputDir, pick);
    // Metrics for every day of the file, not only the run's day.
    const comptagesDays = Object.keys(ha)
      .filter((k) => k.startsWith('metrics/comptages_metrics_'))
      .map((k) => k.slice('metrics/comptages_metrics_'.length, -'.json'.length));
    expect(comptagesDays.sort()).toEqual(daysInFile(COMPTAGES));
    expect(Object.keys(ha).sort()).toEqual(Object.keys(hb).sort());
    expect(hb).toEqual(ha);
    expect(ha[`reports/daily_report_${DAY}.json`]).toBeDefined();
  }, 300_000);

  it('keeps the same rejection counts and samples (with file line numbers) when chunked', async () => {
    const sample = path.resolve(__dirname, '../../data/sample/raw/batch');
    const rawSample = makeRawTree({
      'batch/comptages-routiers-permanents.csv': path.join(sample, 'comptages-routiers-permanents.csv'),
      'batch/referentiel-comptages-routiers.csv': path.join(sample, 'referentiel-comptages-routiers.csv'),
    });
    const day = '2025-02-04';
    const a = await whole.run(day, rawSample);
    const b = await chunked.run(day, rawSample);
    expect([a.status, b.status]).not.toContain('failed');
    const read = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'metrics', `comptages_metrics_${day}.json`), 'utf8'));
    const qa = read(whole.outputDir).qualite;
    expect(qa.rejected).toEqual({ bad_date: 2, bad_debit: 1, field_count: 2 });
    expect(qa.samples.map((x: { line: number }) => x.line)).toEqual([4777, 6159, 18819, 20520, 22085]);
    const pick = (rel: string) => (rel.startsWith('metrics/') || rel.startsWith('reports/')) && rel.includes(day);
    expect(hashTree(chunked.outputDir, pick)).toEqual(hashTree(whole.outputDir, pick));
  }, 300_000);
});
