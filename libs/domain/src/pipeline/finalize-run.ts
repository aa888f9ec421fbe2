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
import { DayResult, decodePartial } from '../sources/source-handler';
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

/** One (source, day) merge of a run, as a MergeDay job carries it. */
export interface DayMergePlan {
  source: SourceName;
  day: string;
  /** Chunks holding a partial of `day`, in merge order. */
  partials: { fileKey: string; relPath: string; chunkIndex: number }[];
  /** Record counts of the source's files in the run. */
  fileQuality: QualityCounts;
}

/** What a (source, day) merge found itself (duplicate hours, …), reported back to the run. */
export interface DayMergeResult {
  source: SourceName;
  day: string;
  quality: QualityCounts;
}

/** The run's usable chunks in merge order: files that did not fail, by (relative path, chunk index). */
function orderedChunks(input: { chunks: ChunkRef[]; files: RunFile[] }): ChunkRef[] {
  const okFiles = new Set(input.files.filter((f) => f.status === 'ok').map((f) => f.fileKey));
  return input.chunks
    .filter((c) => okFiles.has(c.fileKey))
    .sort((a, b) => a.relPath.localeCompare(b.relPath) || a.chunkIndex - b.chunkIndex);
}

/**
 * The day merges of the run's backfill sources (a comptages export covers many days): one per
 * day any chunk holds, plus the run's day. Each can run on its own (MergeDay jobs), in any order.
 */
export function planDayMerges(input: { date: string; chunks: ChunkRef[]; files: RunFile[] }): DayMergePlan[] {
  const chunks = orderedChunks(input);
  const plans: DayMergePlan[] = [];
  for (const source of SOURCES) {
    if (!BACKFILL_SOURCES.has(source)) continue;
    const own = chunks.filter((c) => c.source === source);
    if (!own.length) continue;
    const fileQuality = mergeQuality(own.map((c) => c.quality));
    const days = new Set(own.flatMap((c) => c.days).filter((d) => d !== ANY_DAY));
    for (const day of [...days].sort()) {
      const partials = own.filter((c) => c.days.includes(day)).map((c) => ({ fileKey: c.fileKey, relPath: c.relPath, chunkIndex: c.chunkIndex }));
      plans.push({ source, day, partials, fileQuality });
    }
  }
  return plans;
}

/**
 * Merge one (source, day) and write its metric document. `date` is the run's day: comptages
 * reads that day's référentiel (written before any merge starts) for arc lengths and positions.
 */
export async function mergeSourceDay(
  store: FinalizeStore,
  job: DayMergePlan & { date: string },
  opts: { referentiel?: ReferentielLoader } = {},
): Promise<DayResult> {
  const handler = handlerFor(job.source);
  const ctx: { referentiel?: ReferentielMetrics['mapping']; history?: Record<string, unknown> } = {};
  if (job.source === 'comptages') {
    const mapping = await (opts.referentiel ?? loadReferentiel)(store, job.date);
    if (mapping) ctx.referentiel = mapping;
  }
  if (HISTORY_SOURCES.has(job.source)) ctx.history = await historyOf(store, job.source, job.day);
  const partials: unknown[] = [];
  for (const c of job.partials) partials.push(await readPartial(store, handler, job.source, c, job.day));
  return finalizeAndWrite(store, job.source, job.day, partials, ctx, [job.fileQuality]);
}

/** A partial that a chunk summary lists; missing from the store = lost, never skipped. */
async function readPartial(
  store: FinalizeStore,
  handler: ReturnType<typeof handlerFor>,
  source: SourceName,
  c: { fileKey: string; relPath: string; chunkIndex: number },
  day: string,
): Promise<unknown> {
  const bytes = await store.getPartial({ source, fileKey: c.fileKey, chunkIndex: c.chunkIndex }, day);
  if (bytes === null) throw new Error(`partial ${source}/${day}/${c.fileKey}/${c.chunkIndex} (${c.relPath}) is missing from the store`);
  return decodePartial(handler, bytes);
}

/**
 * The one place a day's metric document is made: the handler merges the partials (in the order
 * given), the record counts of the source's files plus what the merge found become `qualite`,
 * and the document is written.
 */
async function finalizeAndWrite(
  store: FinalizeStore,
  source: SourceName,
  day: string,
  partials: unknown[],
  ctx: { referentiel?: ReferentielMetrics['mapping']; history?: Record<string, unknown> },
  fileQuality: QualityCounts[],
): Promise<DayResult> {
  const result = handlerFor(source).finalizeDay(day, partials, ctx);
  (result.metrics as { qualite?: QualityCounts }).qualite = mergeQuality([...fileQuality, result.quality]);
  await store.putMetrics(source, day, result.metrics);
  return result;
}

/** The arc mapping of the référentiel written for run day `date` (undefined when there is none). */
export type ReferentielLoader = (store: FinalizeStore, date: string) => Promise<ReferentielMetrics['mapping'] | undefined>;

export const loadReferentiel: ReferentielLoader = async (store, date) => (await store.getMetrics<ReferentielMetrics>('referentiel', date))?.mapping;

async function historyOf(store: FinalizeStore, source: SourceName, day: string): Promise<Record<string, unknown>> {
  const history: Record<string, unknown> = {};
  for (let i = 1; i <= HISTORY_DAYS; i++) {
    const h = await store.getMetrics(source, addDays(day, -i));
    if (h) history[addDays(day, -i)] = h;
  }
  return history;
}

/**
 * Merge the partials of (source, day) found in `own` chunks, here, and write the metric document.
 * Null when no chunk holds that day. The stored counts cover the run's files of this source (whole
 * files, so they do not depend on how the files were chunked) plus what the merge found.
 */
async function mergeHere(
  store: FinalizeStore,
  source: SourceName,
  day: string,
  own: ChunkRef[],
  ctx: { referentiel?: ReferentielMetrics['mapping']; history?: Record<string, unknown> },
): Promise<DayResult | null> {
  const handler = handlerFor(source);
  const partials: unknown[] = [];
  for (const c of own) {
    for (const key of [day, ANY_DAY]) {
      if (c.days.includes(key)) partials.push(await readPartial(store, handler, source, c, key));
    }
  }
  if (!partials.length) return null;
  return finalizeAndWrite(store, source, day, partials, ctx, own.map((c) => c.quality));
}

/**
 * Before the day merges start: write the run's référentiel (comptages merges read it), and plan
 * the merges (`planDayMerges`). `prepared` lists what was merged here, for `finalizeRun`.
 */
export async function prepareDayMerges(
  store: FinalizeStore,
  input: { date: string; chunks: ChunkRef[]; files: RunFile[] },
): Promise<{ plans: DayMergePlan[]; prepared: DayMergeResult[] }> {
  const plans = planDayMerges(input);
  const prepared: DayMergeResult[] = [];
  if (plans.length) {
    const ref = orderedChunks(input).filter((c) => c.source === 'referentiel');
    const result = ref.length ? await mergeHere(store, 'referentiel', input.date, ref, {}) : null;
    if (result) prepared.push({ source: 'referentiel', day: input.date, quality: result.quality });
  }
  return { plans, prepared };
}

/**
 * Merge every (source, day) of the run that `merged` does not already cover, then build the
 * day's report. `merged` lists the day merges done by MergeDay jobs (see `planDayMerges`); their
 * documents are read back from the store. Without it, everything is merged here.
 */
export async function finalizeRun(
  store: FinalizeStore,
  input: { date: string; chunks: ChunkRef[]; files: RunFile[]; generatedAt: string },
  merged?: DayMergeResult[],
): Promise<FinalizeResult> {
  const D = input.date;
  const chunks = orderedChunks(input);
  const done = new Map<string, DayMergeResult>();
  for (const m of merged ?? []) done.set(`${m.source}\u0000${m.day}`, m);

  const forD: Partial<MetricsByType> = {};
  const dayQuality: Partial<Record<SourceName, QualityCounts>> = {};
  const written: { type: SourceName; day: string }[] = [];

  // The référentiel first: comptages needs arc lengths and positions.
  const order: SourceName[] = ['referentiel', ...SOURCES.filter((s) => s !== 'referentiel')];
  for (const source of order) {
    const own = chunks.filter((c) => c.source === source);
    if (!own.length) continue;
    const dated = new Set(own.flatMap((c) => c.days).filter((d) => d !== ANY_DAY));
    const targets = BACKFILL_SOURCES.has(source) ? [...dated].sort() : [D];
    if (!targets.includes(D)) targets.push(D);

    const ctx: { referentiel?: ReferentielMetrics['mapping']; history?: Record<string, unknown> } = {};
    if (source === 'comptages') {
      const mapping = (forD.referentiel as ReferentielMetrics | undefined)?.mapping ?? (await loadReferentiel(store, D));
      if (mapping) ctx.referentiel = mapping;
    }

    for (const day of targets.sort()) {
      const already = done.get(`${source}\u0000${day}`);
      if (already) {
        written.push({ type: source, day });
        if (day === D) {
          (forD as Record<string, unknown>)[source] = await store.getMetrics(source, D);
          dayQuality[source] = mergeQuality([already.quality, filesWithoutDay(own, D)]);
        }
        continue;
      }
      if (HISTORY_SOURCES.has(source)) ctx.history = await historyOf(store, source, day);
      const result = await mergeHere(store, source, day, own, ctx);
      if (!result) {
        // Files of this source were read but none holds day D: say so (below), and never write an
        // empty day over one that another run filled.
        if (day === D) dayQuality[source] = filesWithoutDay(own, D);
        continue;
      }
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
