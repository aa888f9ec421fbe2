/**
 * The run's fan-in (`prepareDayMerges`, `mergeSourceDay`, `finalizeRun`) over an in-memory store,
 * with chunks of a real comptages export (washington, 57 Paris days) and the real référentiel:
 * a day merged by a MergeDay job and the same day merged inside `finalizeRun` give the same bytes,
 * and a partial the chunk summaries list but the store lost is an error on both paths.
 */
import * as fs from 'node:fs';
import { fixture } from '@cityflow/testing';
import {
  ChunkRef,
  encodePartial,
  finalizeRun,
  handlerFor,
  mergeSourceDay,
  planChunks,
  prepareDayMerges,
  RunFile,
  type FinalizeStore,
  type SourceName,
} from '../src';
import { testFileRef } from './helpers';

const COMPTAGES = fixture('real/comptages-routiers-permanents/louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv');
const REFERENTIEL = fixture('real/referentiel-geographique-capteurs/noobzik_referentiel-comptages-routiers_snapshot-2022-02.csv');
const DATE = '2024-11-05';

class MemoryStore implements FinalizeStore {
  readonly partials = new Map<string, Buffer>();
  readonly metrics = new Map<string, string>();
  metricReads = 0;
  static key(k: { source: string; fileKey: string; chunkIndex: number }, day: string) {
    return `${k.source}|${k.fileKey}|${k.chunkIndex}|${day}`;
  }
  async getPartial(k: { source: string; fileKey: string; chunkIndex: number }, day: string) {
    return this.partials.get(MemoryStore.key(k, day)) ?? null;
  }
  async getMetrics<T>(type: string, day: string): Promise<T | null> {
    this.metricReads++;
    const text = this.metrics.get(`${type}|${day}`);
    return text === undefined ? null : (JSON.parse(text) as T);
  }
  async putMetrics(type: string, day: string, doc: unknown) {
    this.metrics.set(`${type}|${day}`, JSON.stringify(doc));
  }
}

/** Process `file` as chunks of `rows` rows into `store`'s partials; returns their summaries. */
async function processFile(store: MemoryStore, source: SourceName, file: string, relPath: string, rows: number): Promise<{ chunks: ChunkRef[]; run: RunFile }> {
  const ref = testFileRef(source, relPath, fs.statSync(file).size);
  const handler = handlerFor(source);
  const bytes = fs.readFileSync(file);
  const plan = await planChunks(file, rows);
  const chunks: ChunkRef[] = [];
  for (const range of plan.ranges) {
    const out = handler.processChunk({ file: ref, range, bytes: bytes.subarray(range.start, range.end), header: range.index ? plan.header : undefined });
    const days = Object.keys(out.partials).sort();
    for (const day of days) store.partials.set(MemoryStore.key({ source, fileKey: ref.fileKey, chunkIndex: range.index }, day), encodePartial(handler, out.partials[day]));
    chunks.push({ fileKey: ref.fileKey, source, relPath, chunkIndex: range.index, days, quality: out.quality });
  }
  return { chunks, run: { fileIndex: 0, source, relPath, fileKey: ref.fileKey, status: 'ok' } as RunFile };
}

async function setup() {
  const store = new MemoryStore();
  const c = await processFile(store, 'comptages', COMPTAGES, 'batch/comptages.csv', 90);
  const r = await processFile(store, 'referentiel', REFERENTIEL, 'batch/referentiel.csv', 1_000_000);
  const input = { date: DATE, chunks: [...c.chunks, ...r.chunks], files: [c.run, { ...r.run, fileIndex: 1 }] };
  return { store, input };
}

describe('run fan-in: MergeDay jobs and finalizeRun', () => {
  it('a day merged by mergeSourceDay has the bytes finalizeRun writes when it merges the day itself', async () => {
    const a = await setup();
    const { plans, prepared } = await prepareDayMerges(a.store, a.input);
    expect(plans.length).toBeGreaterThan(50); // one per Paris day of the export
    expect(prepared.map((p) => [p.source, p.day])).toEqual([['referentiel', DATE]]);
    const merged = [...prepared];
    for (const plan of plans) {
      const result = await mergeSourceDay(a.store, { ...plan, date: DATE });
      merged.push({ source: plan.source, day: plan.day, quality: result.quality });
    }
    const viaJobs = await finalizeRun(a.store, { ...a.input, generatedAt: '2024-11-06T00:00:00Z' }, merged);

    const b = await setup();
    const inside = await finalizeRun(b.store, { ...b.input, generatedAt: '2024-11-06T00:00:00Z' });

    expect([...a.store.metrics.keys()].sort()).toEqual([...b.store.metrics.keys()].sort());
    for (const [k, text] of a.store.metrics) expect({ k, text }).toEqual({ k, text: b.store.metrics.get(k) });
    expect(JSON.stringify(viaJobs.report)).toBe(JSON.stringify(inside.report));
    expect(viaJobs.csv).toBe(inside.csv);
  });

  it('the référentiel merged before the day merges is not merged again by finalizeRun', async () => {
    const { store, input } = await setup();
    const { plans, prepared } = await prepareDayMerges(store, input);
    const merged = [...prepared];
    for (const plan of plans) merged.push({ source: plan.source, day: plan.day, quality: (await mergeSourceDay(store, { ...plan, date: DATE })).quality });
    const puts: string[] = [];
    const putMetrics = store.putMetrics.bind(store);
    store.putMetrics = async (type, day, doc) => (puts.push(`${type}|${day}`), putMetrics(type, day, doc));
    const out = await finalizeRun(store, { ...input, generatedAt: '2024-11-06T00:00:00Z' }, merged);
    expect(puts).toEqual([]); // everything was merged before: the report step only reads
    expect(out.metricsWritten).toContainEqual({ type: 'referentiel', day: DATE });
  });

  it('a given référentiel loader is used instead of reading the référentiel for every day', async () => {
    const { store, input } = await setup();
    const { plans } = await prepareDayMerges(store, input);
    const comptages = plans.filter((p) => p.source === 'comptages').slice(0, 5);
    const mapping = (JSON.parse(store.metrics.get(`referentiel|${DATE}`)!) as { mapping: Record<string, unknown> }).mapping;
    const calls: string[] = [];
    const before = store.metricReads;
    for (const plan of comptages) {
      await mergeSourceDay(store, { ...plan, date: DATE }, { referentiel: async (_s, date) => (calls.push(date), mapping as never) });
    }
    expect(calls).toEqual(comptages.map(() => DATE));
    expect(store.metricReads).toBe(before); // comptages reads no other metric document
  });

  it('a partial listed by a chunk summary but missing from the store fails both paths, naming it', async () => {
    const { store, input } = await setup();
    const { plans } = await prepareDayMerges(store, input);
    const plan = plans.find((p) => p.source === 'comptages' && p.partials.length > 1)!;
    const lost = plan.partials[1];
    store.partials.delete(MemoryStore.key({ source: 'comptages', fileKey: lost.fileKey, chunkIndex: lost.chunkIndex }, plan.day));
    const expected = `partial comptages/${plan.day}/${lost.fileKey}/${lost.chunkIndex} (batch/comptages.csv) is missing from the store`;
    await expect(mergeSourceDay(store, { ...plan, date: DATE })).rejects.toThrow(expected);
    await expect(finalizeRun(store, { ...input, generatedAt: '2024-11-06T00:00:00Z' })).rejects.toThrow(expected);
  });
});
