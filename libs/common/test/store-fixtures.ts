/**
 * Real documents for the store tests: the bundled sample day (data/sample/raw, built from the real
 * exports in test/fixtures/real, see data/sample/PROVENANCE.md) run through the domain in-process,
 * exactly as the processor and reporter would, plus a comptages day from a real export of
 * test/fixtures/real and a large synthetic comptages day made of real arcs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChunkKey } from '@cityflow/common';
import {
  ArcMetric,
  ComptagesMetrics,
  discoverRawFiles,
  encodePartial,
  finalizeRun,
  handlerFor,
  SourceName,
  type FileRef,
  type QualityCounts,
} from '@cityflow/domain';

const ROOT = path.resolve(__dirname, '../../..');
export const SAMPLE_RAW = path.join(ROOT, 'data/sample/raw');
export const SAMPLE_DAY = '2025-02-04';

export interface SampleDocs {
  /** Every metric document the run wrote, by type and day. */
  metrics: { type: SourceName; day: string; doc: unknown }[];
  report: unknown;
  csv: string;
  partials: { key: ChunkKey; day: string; bytes: Buffer }[];
  summaries: { key: ChunkKey; summary: unknown }[];
}

let cached: SampleDocs | undefined;

/** The sample day's documents (computed once per test file, ~2 s). */
export async function sampleDocs(): Promise<SampleDocs> {
  if (cached) return cached;
  const files: FileRef[] = discoverRawFiles(SAMPLE_RAW, SAMPLE_DAY);
  const partials = new Map<string, SampleDocs['partials'][number]>();
  const metrics = new Map<string, SampleDocs['metrics'][number]>();
  const summaries: SampleDocs['summaries'] = [];
  const memory = {
    getPartial: async (k: ChunkKey, day: string) => partials.get(`${k.source}/${k.fileKey}/${k.chunkIndex}/${day}`)?.bytes ?? null,
    getMetrics: async <T>(type: string, day: string) => (metrics.get(`${type}/${day}`)?.doc ?? null) as T | null,
    putMetrics: async (type: string, day: string, doc: unknown) => {
      metrics.set(`${type}/${day}`, { type: type as SourceName, day, doc });
    },
  };
  const chunks: { fileKey: string; source: SourceName; relPath: string; chunkIndex: number; days: string[]; quality: QualityCounts }[] = [];
  for (const file of files) {
    const handler = handlerFor(file.source);
    const bytes = fs.readFileSync(path.join(SAMPLE_RAW, file.relPath));
    const out = handler.processChunk({ file, range: { index: 0, start: 0, end: bytes.length }, bytes });
    const days = Object.keys(out.partials).sort();
    const key = { source: file.source, fileKey: file.fileKey, chunkIndex: 0 };
    for (const day of days) partials.set(`${file.source}/${file.fileKey}/0/${day}`, { key, day, bytes: encodePartial(handler, out.partials[day]) });
    chunks.push({ fileKey: file.fileKey, source: file.source, relPath: file.relPath, chunkIndex: 0, days, quality: out.quality });
    summaries.push({ key, summary: { fileKey: file.fileKey, source: file.source, relPath: file.relPath, chunkIndex: 0, days, quality: out.quality, cached: false } });
  }
  const result = await finalizeRun(memory, {
    date: SAMPLE_DAY,
    chunks,
    files: files.map((f, i) => ({ fileIndex: i, source: f.source, relPath: f.relPath, fileKey: f.fileKey, status: 'ok' as const })),
    generatedAt: '2025-02-05T02:00:00+01:00',
  });
  cached = { metrics: [...metrics.values()], report: result.report, csv: result.csv, partials: [...partials.values()], summaries };
  return cached;
}

export function sampleMetrics(docs: SampleDocs, type: SourceName, day = SAMPLE_DAY): unknown {
  const m = docs.metrics.find((x) => x.type === type && x.day === day);
  if (!m) throw new Error(`the sample day has no ${type} metrics for ${day}`);
  return m.doc;
}

/**
 * A comptages day of `arcs` arcs (default 3,600, > 2 MB of JSON) made of the sample day's real
 * arc entries, cycled with new identifiers: the size of a full Paris day.
 */
export function largeComptagesDay(docs: SampleDocs, arcs = 3600): ComptagesMetrics {
  const real = sampleMetrics(docs, 'comptages') as ComptagesMetrics;
  const metrics: ArcMetric[] = [];
  for (let i = 0; i < arcs; i++) {
    const base = real.metrics[i % real.metrics.length];
    metrics.push({ ...base, identifiant_arc: String(100000 + i), libelle: `${base.libelle} #${i}` });
  }
  return { ...real, metrics };
}

/** The comptages day of 2022-12-05 from a real single-arc export of test/fixtures/real. */
export function realExportComptagesDay(): unknown {
  const file = path.join(ROOT, 'test/fixtures/real/comptages-routiers-permanents/bcg_data-input_arc4264_2022-12-05_to_2022-12-08.csv');
  const bytes = fs.readFileSync(file);
  const relPath = `batch/${path.basename(file)}`;
  const ref: FileRef = { source: 'comptages', relPath, size: bytes.length, version: `${bytes.length}-0`, fileKey: relPath.replace(/[^A-Za-z0-9]/g, '_') };
  const handler = handlerFor('comptages');
  const out = handler.processChunk({ file: ref, range: { index: 0, start: 0, end: bytes.length }, bytes });
  return handler.finalizeDay('2022-12-05', [out.partials['2022-12-05']], {}).metrics;
}
