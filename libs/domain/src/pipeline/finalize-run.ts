/**
 * Fan-in of a run: merge the partials of every (source, day), write the metric documents, then
 * build the day's report. Framework-free: the store is passed in. Deterministic: partials are
 * merged in (relative path, chunk index) order, so the result does not depend on how files were
 * chunked or in which order workers finished.
 */
import { ANY_DAY, emptyQuality, mergeQuality, QualityCounts, reject, SourceName, SOURCES } from '../shared/model';
import type { MetricsByType, ReferentielMetrics } from '../shared/metrics-types';
import { addDays } from '../shared/time';
import { BACKFILL_SOURCES, handlerFor } from '../sources/registry';
import { decodePartial } from '../sources/source-handler';
import { assertValidReport, buildDailyReport, DailyReport, ReportFileEntry, reportToCsv } from '../report';

export interface ChunkRef {
  fileKey: string;
  source: SourceName;
  relPath: string;
  chunkIndex: number;
  days: string[];
  quality: QualityCounts;
}

export interface RunFile {
  fileIndex: number;
  source: SourceName;
  relPath: string;
  fileKey: string;
  status: 'ok' | 'failed';
  error?: string;
}

export interface FinalizeStore {
  getPartial(key: { source: string; fileKey: string; chunkIndex: number }, day: string): Promise<Buffer | null>;
  getMetrics<T = unknown>(type: string, day: string): Promise<T | null>;
  putMetrics(type: string, day: string, doc: unknown): Promise<void>;
}

/**
 * A file of D's own folder that holds nothing for D (e.g. a weather file of other days) is counted
 * as one rejected input `no_data_for_day`, so records = accepted + rejected still holds. Batch files
 * and files of neighbouring days' folders are not: they legitimately cover other days.
 */
function filesWithoutDay(chunks: ChunkRef[], day: string): QualityCounts {
  const q = emptyQuality();
  const byFile = new Map<string, ChunkRef[]>();
  for (const c of chunks) byFile.set(c.fileKey, [...(byFile.get(c.fileKey) ?? []), c]);
  for (const parts of byFile.values()) {
    const rel = parts[0].relPath;
    const inDayFolder = rel.includes(`/dt=${day}/`) || rel.includes(`/${day}/`);
    if (!inDayFolder || parts.some((c) => c.days.includes(day) || c.days.includes(ANY_DAY))) continue;
    reject(q, { file: rel, reason: 'no_data_for_day' });
    q.records += 1;
  }
  return q;
}

export interface FinalizeResult {
  report: DailyReport;
  csv: string;
  metricsWritten: { type: SourceName; day: string }[];
}

const HISTORY_DAYS = 7;
/** Sources whose day metrics compare with their own trailing days (bike-counter anomalies). */
const HISTORY_SOURCES: ReadonlySet<SourceName> = new Set<SourceName>(['bikes']);

export async function finalizeRun(
  store: FinalizeStore,
  input: { date: string; chunks: ChunkRef[]; files: RunFile[]; generatedAt: string },
): Promise<FinalizeResult> {
  const D = input.date;
  const okFiles = new Set(input.files.filter((f) => f.status === 'ok').map((f) => f.fileKey));
  const chunks = input.chunks
    .filter((c) => okFiles.has(c.fileKey))
    .sort((a, b) => a.relPath.localeCompare(b.relPath) || a.chunkIndex - b.chunkIndex);

  const forD: Partial<MetricsByType> = {};
  const dayQuality: Partial<Record<SourceName, QualityCounts>> = {};
  const written: { type: SourceName; day: string }[] = [];

  // The référentiel first: comptages needs arc lengths and positions.
  const order: SourceName[] = ['referentiel', ...SOURCES.filter((s) => s !== 'referentiel')];
  for (const source of order) {
    const own = chunks.filter((c) => c.source === source);
    if (!own.length) continue;
    const handler = handlerFor(source);
    const dated = new Set(own.flatMap((c) => c.days).filter((d) => d !== ANY_DAY));
    const targets = BACKFILL_SOURCES.has(source) ? [...dated].sort() : [D];
    if (!targets.includes(D)) targets.push(D);

    const ctx: { referentiel?: ReferentielMetrics['mapping']; history?: Record<string, unknown> } = {};
    if (source === 'comptages') {
      const ref = (forD.referentiel ?? (await store.getMetrics<ReferentielMetrics>('referentiel', D))) as ReferentielMetrics | null;
      if (ref) ctx.referentiel = ref.mapping;
    }

    for (const day of targets.sort()) {
      const partials: unknown[] = [];
      for (const c of own) {
        for (const key of [day, ANY_DAY]) {
          if (!c.days.includes(key)) continue;
          const bytes = await store.getPartial({ source, fileKey: c.fileKey, chunkIndex: c.chunkIndex }, key);
          if (bytes !== null) partials.push(decodePartial(handler, bytes));
        }
      }
      if (!partials.length) {
        // Files of this source were read but none holds day D: say so (below), and never write an
        // empty day over one that another run filled.
        if (day === D) dayQuality[source] = filesWithoutDay(own, D);
        continue;
      }
      if (HISTORY_SOURCES.has(source)) {
        const history: Record<string, unknown> = {};
        for (let i = 1; i <= HISTORY_DAYS; i++) {
          const h = await store.getMetrics(source, addDays(day, -i));
          if (h) history[addDays(day, -i)] = h;
        }
        ctx.history = history;
      }
      const result = handler.finalizeDay(day, partials, ctx);
      // The stored counts cover the run's files of this source (whole files, so they do not depend
      // on how the files were chunked) plus what the merge of this day found.
      (result.metrics as { qualite?: QualityCounts }).qualite = mergeQuality([...own.map((c) => c.quality), result.quality]);
      await store.putMetrics(source, day, result.metrics);
      written.push({ type: source, day });
      if (day === D) {
        (forD as Record<string, unknown>)[source] = result.metrics;
        dayQuality[source] = mergeQuality([result.quality, filesWithoutDay(own, D)]);
      }
    }
  }

  // Record counts per source: every chunk of the source's files, plus what the merge found for D.
  const quality: Partial<Record<SourceName, QualityCounts>> = {};
  for (const source of SOURCES) {
    const parts = chunks.filter((c) => c.source === source).map((c) => c.quality);
    if (dayQuality[source]) parts.push(dayQuality[source]!);
    if (parts.length) quality[source] = mergeQuality(parts);
  }
  const files: ReportFileEntry[] = input.files.map((f) => {
    const q = mergeQuality(chunks.filter((c) => c.fileKey === f.fileKey).map((c) => c.quality));
    const entry: ReportFileEntry = { source: f.source, relPath: f.relPath, status: f.status };
    if (f.error) entry.error = f.error;
    if (f.status === 'ok') {
      entry.records = q.records;
      entry.rejected = q.records - q.accepted;
    }
    return entry;
  });

  const previousWeek: Partial<MetricsByType> = {};
  for (const source of SOURCES) {
    const doc = await store.getMetrics(source, addDays(D, -7));
    if (doc) (previousWeek as Record<string, unknown>)[source] = doc;
  }

  const report = buildDailyReport({
    date: D,
    generatedAt: input.generatedAt,
    metrics: forD,
    previousWeek,
    files,
    quality,
    expectedSources: [...SOURCES],
  });
  // A report that fails its own schema is a defect: never published (ReportSchemaError).
  assertValidReport(report);
  return { report, csv: reportToCsv(report), metricsWritten: written };
}
