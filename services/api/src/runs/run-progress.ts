/**
 * Live progress of a run, computed from a snapshot of its BullMQ flow. Pure: the snapshot is read
 * by RunsService; this file only maps job ids to files and counts.
 *
 *   run-<runId>                 FinalizeRun (queue `report`)
 *     ├── <runId>-f<i>-c0       ProcessChunk of a whole file
 *     └── <runId>-f<i>          ChunkFile of a large CSV
 *           └── <runId>-f<i>-c<j>  ProcessChunk × N
 */
import type { RunRecord } from '@cityflow/common';

/** What the api reads of one job of the flow. */
export interface JobSnapshot {
  id: string;
  queueName: string;
  /** BullMQ state: completed, failed, active, waiting, waiting-children, delayed, prioritized, unknown. */
  state: string;
  progress: unknown;
  /** Rows the chunker counted for a ProcessChunk job, when known. */
  plannedRows?: number;
  failedReason?: string;
  /** Finished attempts, successful or failed (BullMQ's count; failed ones are retried until `attempts`). */
  attemptsMade: number;
  /** Times a worker took the job: attempts plus stalled re-runs. */
  attemptsStarted?: number;
  /** Times the job stalled (its worker died or lost the lock) and was put back in the queue. */
  stalledCounter?: number;
  children?: JobSnapshot[];
}

/** Which chunks of each file the view lists (the counts always cover every chunk). */
export const CHUNK_FILTERS = ['all', 'active', 'failed', 'none'] as const;
export type ChunkFilter = (typeof CHUNK_FILTERS)[number];

/** One page of a file's chunks, in chunk order, after the filter. */
export interface ChunkListing {
  filter: ChunkFilter;
  offset: number;
  limit: number;
}

/** One chunk job (ProcessChunk) as the api shows it. */
export interface ChunkView {
  id: string;
  index: number;
  state: string;
  rowsDone: number;
  rowsTotal: number | null;
  attemptsMade: number;
  attemptsStarted: number;
  stalls: number;
  failedReason: string | null;
}

export interface ChunkPage extends ChunkListing {
  /** Chunks of the file that match the filter (the page holds at most `limit` of them). */
  total: number;
  items: ChunkView[];
}

export interface ChunkCounts {
  total: number;
  completed: number;
  failed: number;
  active: number;
  waiting: number;
}

export interface FileProgress {
  fileIndex: number;
  relPath: string | null;
  source: string | null;
  size: number | null;
  chunked: boolean;
  /** State of the file's own job (the ChunkFile job, or its single ProcessChunk job); `unknown` once pruned. */
  state: string;
  chunks: ChunkCounts;
  rowsDone: number;
  /** Null while some chunk's row count is still unknown. */
  rowsTotal: number | null;
  failedReason: string | null;
  percent: number;
  /** Present when a listing was asked for (GET /runs/{id} always asks). */
  chunkList?: ChunkPage;
}

export type RunStage = 'queued' | 'ingesting' | 'processing' | 'finalizing' | 'completed' | 'incomplete' | 'failed' | 'unknown';

export interface RunProgress {
  /** BullMQ state of the run job (the finalize parent, or the ingest job before the flow exists); null when neither is in Redis. */
  state: string | null;
  stage: RunStage;
  ingest: { state: string; failedReason: string | null; attemptsMade: number } | null;
  files: FileProgress[];
  chunksTotal: number;
  chunksCompleted: number;
  chunksFailed: number;
  rowsDone: number;
  rowsTotal: number | null;
  percent: number;
}

const WAITING = new Set(['waiting', 'waiting-children', 'delayed', 'prioritized', 'paused', 'wait']);

function rowsOf(job: JobSnapshot): { done: number; total: number | null } {
  const p = job.progress as { rowsDone?: unknown; rowsTotal?: unknown } | null;
  const done = p && typeof p === 'object' && typeof p.rowsDone === 'number' ? p.rowsDone : 0;
  const totalFromProgress = p && typeof p === 'object' && typeof p.rowsTotal === 'number' ? p.rowsTotal : undefined;
  const total = totalFromProgress ?? job.plannedRows ?? (job.state === 'completed' ? done : null);
  return { done, total };
}

/** Fraction of one chunk that is done: 1 once finished (completed or failed), rows ratio while active. */
function chunkFraction(job: JobSnapshot): number {
  if (job.state === 'completed' || job.state === 'failed') return 1;
  if (job.state !== 'active') return 0;
  const { done, total } = rowsOf(job);
  return total && total > 0 ? Math.min(1, done / total) : 0;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function parseChildId(runId: string, id: string): { fileIndex: number; chunkIndex: number | null } | null {
  if (!id.startsWith(`${runId}-f`)) return null;
  const m = /^f(\d+)(?:-c(\d+))?$/.exec(id.slice(runId.length + 1));
  return m ? { fileIndex: Number(m[1]), chunkIndex: m[2] === undefined ? null : Number(m[2]) } : null;
}

/** The listed page of one file's chunks (already sorted by chunk index). */
function chunkPage(runId: string, chunks: JobSnapshot[], listing: ChunkListing): ChunkPage {
  const matching = listing.filter === 'none' ? [] : listing.filter === 'all' ? chunks : chunks.filter((c) => c.state === listing.filter);
  const items = matching.slice(listing.offset, listing.offset + listing.limit).map((c): ChunkView => {
    const { done, total } = rowsOf(c);
    return {
      id: c.id,
      index: parseChildId(runId, c.id)?.chunkIndex ?? 0,
      state: c.state,
      rowsDone: done,
      rowsTotal: total,
      attemptsMade: c.attemptsMade,
      attemptsStarted: c.attemptsStarted ?? 0,
      stalls: c.stalledCounter ?? 0,
      failedReason: c.failedReason ?? null,
    };
  });
  return { ...listing, total: matching.length, items };
}

/**
 * Progress of a run from its record and a snapshot of its flow. With `listing`, each file also
 * carries one page of its chunks (`chunkList`).
 */
export function summarizeRun(
  record: Pick<RunRecord, 'runId' | 'status' | 'files'>,
  flow: JobSnapshot | null,
  ingest: JobSnapshot | null,
  listing?: ChunkListing,
): RunProgress {
  const runId = record.runId;
  // Index the flow's jobs by file: a file job (ChunkFile) and its chunk jobs.
  const byFile = new Map<number, { fileJob?: JobSnapshot; chunks: JobSnapshot[] }>();
  const slot = (i: number) => {
    let s = byFile.get(i);
    if (!s) byFile.set(i, (s = { chunks: [] }));
    return s;
  };
  for (const child of flow?.children ?? []) {
    const ref = parseChildId(runId, child.id);
    if (!ref) continue;
    if (ref.chunkIndex === null) {
      slot(ref.fileIndex).fileJob = child;
      for (const grandChild of child.children ?? []) {
        const cref = parseChildId(runId, grandChild.id);
        if (cref && cref.chunkIndex !== null) slot(cref.fileIndex).chunks.push(grandChild);
      }
    } else {
      slot(ref.fileIndex).chunks.push(child);
    }
  }

  const known = new Map((record.files ?? []).map((f) => [f.fileIndex, f]));
  const indexes = [...new Set([...known.keys(), ...byFile.keys()])].sort((a, b) => a - b);
  const runFinished = flow?.state === 'completed' || ['completed', 'incomplete'].includes(record.status);

  const files: FileProgress[] = indexes.map((fileIndex) => {
    const meta = known.get(fileIndex);
    const jobs = byFile.get(fileIndex) ?? { chunks: [] };
    const chunks = [...jobs.chunks].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    const counts: ChunkCounts = { total: chunks.length, completed: 0, failed: 0, active: 0, waiting: 0 };
    let rowsDone = 0;
    let rowsTotal: number | null = 0;
    for (const c of chunks) {
      if (c.state === 'completed') counts.completed++;
      else if (c.state === 'failed') counts.failed++;
      else if (c.state === 'active') counts.active++;
      else if (WAITING.has(c.state)) counts.waiting++;
      const r = rowsOf(c);
      rowsDone += r.done;
      rowsTotal = rowsTotal === null || r.total === null ? null : rowsTotal + r.total;
    }
    const own = jobs.fileJob ?? (meta?.chunked ? undefined : chunks[0]);
    const state = own?.state ?? (runFinished ? 'completed' : flow ? 'unknown' : 'waiting');
    const failedChunk = chunks.find((c) => c.state === 'failed');
    const failedReason = (own?.state === 'failed' ? own.failedReason : undefined) ?? failedChunk?.failedReason ?? null;
    let fraction: number;
    if (chunks.length) fraction = chunks.reduce((s, c) => s + chunkFraction(c), 0) / chunks.length;
    else fraction = state === 'completed' || state === 'failed' ? 1 : 0;
    if (runFinished) fraction = 1;
    return {
      fileIndex,
      relPath: meta?.relPath ?? null,
      source: meta?.source ?? null,
      size: meta?.size ?? null,
      chunked: meta?.chunked ?? !!jobs.fileJob,
      state,
      chunks: counts,
      rowsDone,
      rowsTotal: chunks.length ? rowsTotal : null,
      failedReason,
      percent: round1(fraction * 100),
      ...(listing ? { chunkList: chunkPage(runId, chunks, listing) } : {}),
    };
  });

  // Weight files by size: a 6 GB file is not worth the same as a 2 kB one.
  const weight = (f: FileProgress) => (f.size && f.size > 0 ? f.size : 1);
  const totalWeight = files.reduce((s, f) => s + weight(f), 0);
  let fraction = totalWeight ? files.reduce((s, f) => s + (weight(f) * f.percent) / 100, 0) / totalWeight : 0;
  // Once every file is done the run job only waits for its day merges (MergeDay children): finalizing.
  const filesDone = files.length > 0 && files.every((f) => f.state === 'completed' || f.state === 'failed');
  const stage = stageOf(record.status, flow, ingest, filesDone);
  // 100 % means "report written": until then the finalize step is still ahead.
  if (stage === 'completed' || stage === 'incomplete') fraction = 1;
  else if (stage !== 'failed') fraction = Math.min(fraction, 0.99);

  const rowsKnown = files.every((f) => f.rowsTotal !== null);
  return {
    state: flow?.state ?? ingest?.state ?? null,
    stage,
    ingest: ingest ? { state: ingest.state, failedReason: ingest.failedReason ?? null, attemptsMade: ingest.attemptsMade } : null,
    files,
    chunksTotal: files.reduce((s, f) => s + f.chunks.total, 0),
    chunksCompleted: files.reduce((s, f) => s + f.chunks.completed, 0),
    chunksFailed: files.reduce((s, f) => s + f.chunks.failed, 0),
    rowsDone: files.reduce((s, f) => s + f.rowsDone, 0),
    rowsTotal: files.length && rowsKnown ? files.reduce((s, f) => s + (f.rowsTotal ?? 0), 0) : null,
    percent: round1(fraction * 100),
  };
}

function stageOf(status: RunRecord['status'], flow: JobSnapshot | null, ingest: JobSnapshot | null, filesDone: boolean): RunStage {
  if (status === 'completed' || status === 'incomplete' || status === 'failed') return status;
  if (flow) {
    if (flow.state === 'failed') return 'failed';
    if (flow.state === 'completed') return 'completed';
    if (flow.state === 'active' || flow.state === 'waiting' || flow.state === 'prioritized') return 'finalizing';
    if (flow.state === 'waiting-children' && filesDone) return 'finalizing';
    return 'processing';
  }
  if (ingest) {
    if (ingest.state === 'failed') return 'failed';
    if (ingest.state === 'active' || ingest.state === 'delayed') return 'ingesting';
    if (ingest.state === 'completed') return 'processing';
    return 'queued';
  }
  return status === 'queued' ? 'queued' : 'unknown';
}
