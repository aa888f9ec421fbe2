import { z } from 'zod';
import { defineJob } from '../define-job';
import { QueueName } from '../queues';
import { ByteRangeSchema, ChunkSummarySchema, FileRefSchema, RunIdSchema } from './common';

/** Parse and aggregate one byte range of one file; write its partials; return a pointer to them. */
export const ProcessChunk = defineJob({
  queue: QueueName.Process,
  name: 'process-chunk',
  data: z.object({
    schemaVersion: z.literal(1),
    runId: RunIdSchema,
    rawDir: z.string().min(1),
    file: FileRefSchema,
    range: ByteRangeSchema,
    /** Header line of the CSV, for chunks that do not start at byte 0. */
    header: z.string().optional(),
    /** Rows the chunker counted in this range (for progress), when known. */
    rows: z.number().int().nonnegative().optional(),
  }),
  result: ChunkSummarySchema,
});
