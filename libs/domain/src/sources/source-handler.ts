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

/**
 * A chunk fed in blocks, for sources whose ranges can be large (memory stays at one block).
 * `push` scans the complete records at the start of `buf` and returns the bytes it used; the
 * caller passes the rest again with the next bytes. `final` marks the range's last bytes.
 */
export interface ChunkScanner<P = unknown> {
  push(buf: Buffer, final: boolean): number;
  finish(): ChunkOutput<P>;
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
  /** Block-by-block form of `processChunk` (same result), when the source has one. */
  createScanner?(input: Omit<ChunkInput, 'bytes'>): ChunkScanner<P>;
  /** Partials as stored bytes; plain JSON when absent (see `encodePartial`). */
  encodePartial?(partial: P): Buffer;
  decodePartial?(bytes: Buffer): P;
  finalizeDay(day: string, partials: P[], ctx: FinalizeContext): DayResult<M>;
}

/** A partial as the bytes a store keeps: the handler's own format, or UTF-8 JSON. */
export function encodePartial<P>(handler: SourceHandler<P>, partial: P): Buffer {
  return handler.encodePartial ? handler.encodePartial(partial) : Buffer.from(JSON.stringify(partial), 'utf8');
}

export function decodePartial<P>(handler: SourceHandler<P>, bytes: Buffer): P {
  return handler.decodePartial ? handler.decodePartial(bytes) : (JSON.parse(bytes.toString('utf8')) as P);
}
