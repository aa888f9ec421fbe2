import { z } from 'zod';
import { defineJob } from '../define-job';
import { QueueName } from '../queues';
import { ChunkSummarySchema, FileRefSchema, RunIdSchema } from './common';

/**
 * Split a large CSV into row-count byte ranges (never copying it) and fan them out as
 * `process-chunk` children; once they are done, hand their summaries to the run.
 */
export const ChunkFile = defineJob({
  queue: QueueName.Chunk,
  name: 'chunk-file',
  data: z.object({
    schemaVersion: z.literal(1),
    runId: RunIdSchema,
    rawDir: z.string().min(1),
    file: FileRefSchema,
    fileIndex: z.number().int().nonnegative(),
    /** Step reached, set by the chunker itself: `plan` (default) adds the chunks, `wait` collects them. */
    step: z.enum(['plan', 'wait']).optional(),
  }),
  result: z.object({ chunks: z.array(ChunkSummarySchema), failedChunks: z.array(z.string()) }),
});
