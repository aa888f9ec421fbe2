/**
 * Core vocabulary shared by every source: which sources exist, how a raw file is
 * referenced, what a processed chunk yields, and how data quality is counted.
 * Framework-free: no NestJS, no BullMQ, no I/O.
 */

/** Every input CityFlow knows. Values are stable: they appear in file names and API paths. */
export const SOURCES = ['comptages', 'referentiel', 'chantiers', 'bikes', 'traffic', 'weather', 'velib'] as const;
export type SourceName = (typeof SOURCES)[number];

/** Metric types served by `/metrics/{type}/{date}`: one per source. */
export const METRIC_TYPES: readonly SourceName[] = SOURCES;

export function isSourceName(value: string): value is SourceName {
  return (SOURCES as readonly string[]).includes(value);
}

/** A raw input file, as found by discovery. `version` changes whenever the content may have changed. */
export interface FileRef {
  source: SourceName;
  /** Path relative to the raw root, `/`-separated (also the S3 key suffix). */
  relPath: string;
  size: number;
  /** Opaque version tag: `<size>-<mtimeMs>` locally, the ETag on S3. */
  version: string;
  /** Stable, filesystem-safe id of (relPath, version); partial results are keyed by it. */
  fileKey: string;
}

/** A byte range of a file: `[start, end)`. Chunk 0 starts at byte 0 and includes the header. */
export interface ByteRange {
  index: number;
  start: number;
  end: number;
  /** 1-based physical line at `start` (set by the chunker), so samples carry file line numbers. */
  firstLine?: number;
}

/** One rejected record kept as evidence (bounded number per chunk). */
export interface RejectSample {
  file: string;
  /** 1-based physical line of the record start, when known. */
  line?: number;
  /** Byte offset of the record start in the file, when known. */
  byteOffset?: number;
  reason: string;
}

/** Record counts of one chunk or one file: every record is either accepted or rejected with a reason. */
export interface QualityCounts {
  records: number;
  accepted: number;
  /** reason -> count */
  rejected: Record<string, number>;
  samples: RejectSample[];
}

export const MAX_REJECT_SAMPLES = 20;

export function emptyQuality(): QualityCounts {
  return { records: 0, accepted: 0, rejected: Object.create(null) as Record<string, number>, samples: [] };
}

/** Count one rejection, keeping at most MAX_REJECT_SAMPLES samples. */
export function reject(q: QualityCounts, sample: RejectSample): void {
  q.rejected[sample.reason] = (q.rejected[sample.reason] ?? 0) + 1;
  if (q.samples.length < MAX_REJECT_SAMPLES) q.samples.push(sample);
}

/** Merge quality counts (in a fixed order, so results are deterministic). */
export function mergeQuality(parts: QualityCounts[]): QualityCounts {
  const out = emptyQuality();
  for (const p of parts) {
    out.records += p.records;
    out.accepted += p.accepted;
    for (const reason of Object.keys(p.rejected).sort()) out.rejected[reason] = (out.rejected[reason] ?? 0) + p.rejected[reason];
    for (const s of p.samples) if (out.samples.length < MAX_REJECT_SAMPLES) out.samples.push(s);
  }
  const sorted = Object.create(null) as Record<string, number>;
  for (const reason of Object.keys(out.rejected).sort()) sorted[reason] = out.rejected[reason];
  out.rejected = sorted;
  return out;
}

/** Day key of a partial that is not tied to a day (a snapshot: référentiel, works list, disruptions list). */
export const ANY_DAY = '*';

/**
 * What processing one chunk of one file yields: partial aggregates keyed by Europe/Paris day
 * (or ANY_DAY for snapshots), plus the chunk's record counts. Partials must be plain JSON and
 * independent of how the file was cut into chunks once merged.
 */
export interface ChunkOutput<P = unknown> {
  partials: Record<string, P>;
  quality: QualityCounts;
}

/**
 * A structurally unusable input (wrong header, not JSON, unknown format). The job that meets it
 * fails for good (no retry), and the run shows the name and message.
 */
export class InputFormatError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'InputFormatError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
