import { z } from 'zod';
import { defineJob } from '../define-job';
import { QueueName } from '../queues';
import { DaySchema, QualitySchema, RunIdSchema, SourceSchema } from './common';

/** Parent of a run's flow: merge partials per (source, day), write metrics, then the day's report. */
export const FinalizeRun = defineJob({
  queue: QueueName.Report,
  name: 'finalize-run',
  data: z.object({
    schemaVersion: z.literal(1),
    runId: RunIdSchema,
    date: DaySchema,
    /** Step reached, set by the reporter itself: `merge` (default) fans out the day merges, `report` writes the report. */
    step: z.enum(['merge', 'report']).optional(),
    /**
     * Merges the `merge` step did itself (the run day's référentiel, which the day merges read),
     * so that the `report` step does not do them again. Bounded: one entry per such source.
     */
    prepared: z.array(z.object({ source: SourceSchema, day: DaySchema, quality: QualitySchema })).max(10).optional(),
  }),
  result: z.object({
    date: DaySchema,
    complete: z.boolean(),
    metricsWritten: z.number().int(),
    reportPath: z.string().optional(),
  }),
  // Merging is deterministic and idempotent; a retry recomputes the same bytes.
  defaults: { attempts: 2 },
});
