import { z } from 'zod';
import { defineJob } from '../define-job';
import { QueueName } from '../queues';
import { DaySchema, QualitySchema, RunIdSchema, SourceSchema } from './common';

/** A chunk whose partial of `day` the merge reads (a pointer into the store). */
export const PartialRefSchema = z.object({
  fileKey: z.string().regex(/^[A-Za-z0-9._-]+$/),
  relPath: z.string().min(1),
  chunkIndex: z.number().int().nonnegative(),
});

/**
 * Merge the partials of one (source, day) of a run, in the order given, into that day's metric
 * document. The reporter adds one per day of a backfill source (a comptages export covers weeks),
 * so processor replicas share the fan-in; the report waits for all of them.
 */
export const MergeDay = defineJob({
  queue: QueueName.Merge,
  name: 'merge-day',
  data: z.object({
    schemaVersion: z.literal(1),
    runId: RunIdSchema,
    /** The run's day: the référentiel of that day gives arc lengths and positions. */
    date: DaySchema,
    source: SourceSchema,
    day: DaySchema,
    /** Partials to merge, in merge order (relative path, chunk index). */
    partials: z.array(PartialRefSchema),
    /** Record counts of the source's files in the run (stored with the metrics). Bounded: ≤ 20 samples. */
    fileQuality: QualitySchema,
  }),
  result: z.object({
    source: SourceSchema,
    day: DaySchema,
    /** What the merge itself found (duplicate hours, …). */
    quality: QualitySchema,
  }),
  // Deterministic and idempotent: a retry writes the same bytes.
  defaults: { attempts: 2 },
});
