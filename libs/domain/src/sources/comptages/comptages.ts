/**
 * Road traffic counts ("comptages routiers permanents", ODS CSV export): hourly flow and occupancy
 * per arc → per-day metrics per arc, per arrondissement and for the city (SPEC §3, §4).
 *
 * Hour convention: a row stamped T counts the hour [T − 1 h, T); that hour belongs to the Paris
 * day of its start, so `D+1T00:00` closes day D and `DT00:00` belongs to D−1.
 */
import type { ComptagesMetrics } from '../../shared/metrics-types';
import type { SourceHandler } from '../source-handler';
import { ComptagesThresholds, DEFAULT_COMPTAGES_THRESHOLDS } from './constants';
import { finalizeComptagesDay } from './metrics';
import { ComptagesChunkScanner, processComptagesChunk } from './parse';
import { ComptagesPartial, decodeComptagesPartial, encodeComptagesPartial } from './partial';

/** A comptages handler with its own thresholds (defaults: SPEC §4). */
export function createComptagesHandler(thresholds: Partial<ComptagesThresholds> = {}): SourceHandler<ComptagesPartial, ComptagesMetrics> {
  const t: ComptagesThresholds = { ...DEFAULT_COMPTAGES_THRESHOLDS, ...thresholds };
  return {
    source: 'comptages',
    splittable: true,
    processChunk: processComptagesChunk,
    createScanner: (input) => new ComptagesChunkScanner(input),
    encodePartial: encodeComptagesPartial,
    decodePartial: decodeComptagesPartial,
    finalizeDay: (day, partials, ctx) => finalizeComptagesDay(day, partials, ctx, t),
  };
}

export const comptagesHandler: SourceHandler<ComptagesPartial, ComptagesMetrics> = createComptagesHandler();
