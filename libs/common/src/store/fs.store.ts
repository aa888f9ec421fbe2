import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertStorable, assertStorableBytes } from './storable';
import { canonicalJson, ChunkKey, RunRecord, Store } from './store';

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const SAFE_RE = /^[A-Za-z0-9._*-]+$/;

/** Refuse anything that could escape the output folder (keys come from contracts, but be strict). */
function safe(part: string | number): string {
  const s = String(part);
  if (!SAFE_RE.test(s) || s === '.' || s === '..') throw new Error(`unsafe store key part: ${JSON.stringify(s)}`);
  return s === '*' ? '_any' : s;
}

/**
 * Filesystem store (SPEC §6): `output/metrics/<type>_metrics_<D>.json`,
 * `output/reports/daily_report_<D>.{json,csv}`, and working state under `output/state/`.
 * Writes go to a temporary file then rename (atomic on one filesystem); a write whose bytes equal
 * the existing file leaves it untouched.
 */
export class FsStore implements Store {
  readonly kind = 'filesystem';
  constructor(readonly root: string) {}

  private p(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  private async write(file: string, content: string | Buffer): Promise<void> {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    try {
      if ((await fs.promises.readFile(file)).equals(bytes)) return;
    } catch {
      /* absent: write it */
    }
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await fs.promises.writeFile(tmp, bytes);
    await fs.promises.rename(tmp, file);
  }

  private async readJson<T>(file: string): Promise<T | null> {
    try {
      return JSON.parse(await fs.promises.readFile(file, 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  private async list(dir: string): Promise<string[]> {
    try {
      return await fs.promises.readdir(dir);
    } catch {
      return [];
    }
  }

  metricsFile(type: string, day: string): string {
    return this.p('metrics', `${safe(type)}_metrics_${safe(day)}.json`);
  }
  reportFile(day: string, ext: 'json' | 'csv'): string {
    return this.p('reports', `daily_report_${safe(day)}.${ext}`);
  }

  async putMetrics(type: string, day: string, doc: unknown) {
    // Same validation as the database backends, so a document accepted here is accepted there.
    assertStorable(doc);
    // (async: an invalid document is a rejected promise, like a failed write.)
    // Compact: a comptages day is ~3,500 arc entries (2.8 MB indented, and twice the time to write).
    return this.write(this.metricsFile(type, day), JSON.stringify(doc) + '\n');
  }
  getMetrics<T>(type: string, day: string) {
    return this.readJson<T>(this.metricsFile(type, day));
  }
  async listMetricDates(type?: string): Promise<string[]> {
    const dates = new Set<string>();
    for (const f of await this.list(this.p('metrics'))) {
      const m = /^([a-z]+)_metrics_(\d{4}-\d{2}-\d{2})\.json$/.exec(f);
      if (m && (!type || m[1] === type)) dates.add(m[2]);
    }
    return [...dates].sort();
  }

  async putReport(day: string, json: unknown, csv: string) {
    assertStorable(json);
    // JSON last: its presence is what readers treat as "the report exists".
    await this.write(this.reportFile(day, 'csv'), csv);
    await this.write(this.reportFile(day, 'json'), canonicalJson(json));
  }
  getReport<T>(day: string) {
    return this.readJson<T>(this.reportFile(day, 'json'));
  }
  async getReportCsv(day: string) {
    try {
      return await fs.promises.readFile(this.reportFile(day, 'csv'), 'utf8');
    } catch {
      return null;
    }
  }
  async listReportDates() {
    return (await this.list(this.p('reports')))
      .map((f) => /^daily_report_(\d{4}-\d{2}-\d{2})\.json$/.exec(f)?.[1])
      .filter((d): d is string => !!d && DAY_RE.test(d))
      .sort();
  }

  private partialFile(k: ChunkKey, day: string) {
    return this.p('state', 'partials', safe(k.source), safe(day), safe(k.fileKey), `${safe(k.chunkIndex)}.part`);
  }
  async putPartial(k: ChunkKey, day: string, bytes: Buffer) {
    assertStorableBytes(bytes);
    return this.write(this.partialFile(k, day), bytes);
  }
  async getPartial(k: ChunkKey, day: string): Promise<Buffer | null> {
    try {
      return await fs.promises.readFile(this.partialFile(k, day));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }
  private chunkFile(k: ChunkKey) {
    return this.p('state', 'chunks', safe(k.source), safe(k.fileKey), `${safe(k.chunkIndex)}.json`);
  }
  async putChunkSummary(k: ChunkKey, summary: unknown) {
    assertStorable(summary);
    return this.write(this.chunkFile(k), canonicalJson(summary));
  }
  getChunkSummary<T>(k: ChunkKey) {
    return this.readJson<T>(this.chunkFile(k));
  }

  private runFile(id: string) {
    return this.p('state', 'runs', `${safe(id)}.json`);
  }
  async putRun(run: RunRecord) {
    assertStorable(run);
    return this.write(this.runFile(run.runId), canonicalJson(run));
  }
  getRun(id: string) {
    return this.readJson<RunRecord>(this.runFile(id));
  }
  async listRuns(limit = 50) {
    const runs: RunRecord[] = [];
    for (const f of await this.list(this.p('state', 'runs'))) {
      if (!f.endsWith('.json')) continue;
      const r = await this.readJson<RunRecord>(this.p('state', 'runs', f));
      if (r) runs.push(r);
    }
    return runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, limit);
  }

  async stats() {
    const metrics = (await this.list(this.p('metrics'))).filter((f) => f.endsWith('.json')).length;
    return { metrics_count: metrics, reports_count: (await this.listReportDates()).length };
  }
}
