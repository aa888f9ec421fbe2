/**
 * Where metrics, reports, partial aggregates and run records live. One interface, several
 * backends (filesystem by default, MongoDB, DynamoDB). Every write is a put by a deterministic
 * key, so a retried or duplicated job rewrites the same bytes instead of adding to them. Every
 * backend validates documents with `assertStorable` (storable.ts) before writing, and reads them
 * back deep-equal with the same key order, so the API answers the same bytes whatever the backend.
 */
export interface RunRecord {
  runId: string;
  date: string;
  status: 'queued' | 'running' | 'completed' | 'incomplete' | 'failed';
  createdAt: string;
  updatedAt: string;
  rawDir: string;
  files?: { fileIndex: number; source: string; relPath: string; size: number; chunked: boolean; fileKey: string }[];
  result?: unknown;
  error?: string;
}

export interface ChunkKey {
  source: string;
  fileKey: string;
  chunkIndex: number;
}

export interface Store {
  readonly kind: string;
  /**
   * Connect and check (or, with CREATE_RESOURCES, create) tables, collections and indexes.
   * Called once before first use; throws a named error when something is missing.
   */
  init?(): Promise<void>;
  /** Release connections. Called once at shutdown, after the workers using the store stopped. */
  close?(): Promise<void>;

  putMetrics(type: string, day: string, doc: unknown): Promise<void>;
  getMetrics<T = unknown>(type: string, day: string): Promise<T | null>;
  /** Dates with metrics, ascending; optionally for one type. */
  listMetricDates(type?: string): Promise<string[]>;

  putReport(day: string, json: unknown, csv: string): Promise<void>;
  getReport<T = unknown>(day: string): Promise<T | null>;
  getReportCsv(day: string): Promise<string | null>;
  listReportDates(): Promise<string[]>;

  /** Partial aggregate of one chunk for one day (`*` for snapshots), as the source handler encoded it. */
  putPartial(key: ChunkKey, day: string, bytes: Buffer): Promise<void>;
  getPartial(key: ChunkKey, day: string): Promise<Buffer | null>;
  /** Summary of a finished chunk, written after its partials: its presence means "done". */
  putChunkSummary(key: ChunkKey, summary: unknown): Promise<void>;
  getChunkSummary<T = unknown>(key: ChunkKey): Promise<T | null>;

  putRun(run: RunRecord): Promise<void>;
  getRun(runId: string): Promise<RunRecord | null>;
  listRuns(limit?: number): Promise<RunRecord[]>;

  stats(): Promise<{ metrics_count: number; reports_count: number }>;
}

/** Canonical JSON text of a document: stable across runs, so identical content means identical bytes. */
export function canonicalJson(doc: unknown): string {
  return JSON.stringify(doc, null, 2) + '\n';
}
