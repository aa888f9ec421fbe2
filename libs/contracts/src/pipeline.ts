/**
 * The stage graph, in one place.
 *
 *   POST /runs or `npm run pipeline`
 *        │  IngestRun (queue `ingest`)
 *        ▼
 *   ingestor: discover raw files for the day, write the run manifest, add one flow:
 *
 *     FinalizeRun (queue `report`, parent, jobId `run-<runId>`)
 *       ├── ProcessChunk (queue `process`)   one per file ≤ MAX_FILE_SIZE_MB (whole file = one range)
 *       └── ChunkFile    (queue `chunk`)     one per larger CSV
 *             └── ProcessChunk × N           added by the chunker, one per EC2_CHUNK_SIZE rows
 *
 *   processor: parse + aggregate a range, write partials keyed (source, day, fileKey, chunk)
 *   reporter:  when every child is done (step `merge`), add one MergeDay per day of a backfill
 *              source (queue `merge`, run by the processors), wait for them, then (step `report`)
 *              merge the other sources for the run's day and build the report
 *
 *     FinalizeRun
 *       └── MergeDay × days       added by the reporter; each writes one (source, day) metric document
 *
 * Children use `ignoreDependencyOnFailure`: a structurally unusable file fails its own job with a
 * named error, and the run goes on and reports it (SPEC §2). A chunk that fails fails its whole
 * file, so no file is ever half counted.
 */
export const RUN_JOB_PREFIX = 'run-';

export const jobIds = {
  ingest: (runId: string) => `ingest-${runId}`,
  finalize: (runId: string) => `${RUN_JOB_PREFIX}${runId}`,
  file: (runId: string, fileIndex: number) => `${runId}-f${fileIndex}`,
  chunk: (runId: string, fileIndex: number, chunkIndex: number) => `${runId}-f${fileIndex}-c${chunkIndex}`,
  merge: (runId: string, source: string, day: string) => `${runId}-m-${source}-${day}`,
};

/** A new run id for a day: `<date>-<8 hex>` (matches RunIdSchema; never all digits, no `:`). */
export function newRunId(date: string): string {
  const hex = Array.from({ length: 8 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  return `${date}-${hex}`;
}
