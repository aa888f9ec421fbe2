import type { ByteRange, ChunkOutput, FileRef, QualityCounts, SourceName } from '../shared/model';
import type { ReferentielArc } from '../shared/metrics-types';

export interface ChunkInput {
  file: FileRef;
  range: ByteRange;
  /** The bytes of the range (the whole file for sources that are not split). */
  bytes: Buffer;
  /** Header line for CSV chunks that do not start at byte 0 (chunk 0 carries its own). */
  header?: string;
}

export interface FinalizeContext {
  /** Arc geography from the référentiel partials of the same run, when any. */
  referentiel?: Record<string, ReferentielArc>;
  /** Metric documents of the same type for earlier days (e.g. D−1 … D−7), when they exist. */
  history?: Record<string, unknown>;
}

/** A finished (source, day): the metric document plus counts found while merging (duplicates, …). */
export interface DayResult<M = unknown> {
  metrics: M;
  quality: QualityCounts;
}

/**
 * One source = one handler. `processChunk` turns bytes into mergeable partials keyed by day;
 * `finalizeDay` merges the partials of one day, given in a fixed order (fileKey, chunk index),
 * into the metric document. The result must not depend on how files were cut into chunks.
 */
export interface SourceHandler<P = unknown, M = unknown> {
  readonly source: SourceName;
  /** Whether large files of this source may be split into byte ranges (CSV without multi-line records). */
  readonly splittable: boolean;
  processChunk(input: ChunkInput): ChunkOutput<P>;
  finalizeDay(day: string, partials: P[], ctx: FinalizeContext): DayResult<M>;
}
