import { z } from 'zod';
import { defineJob } from '../define-job';
import { QueueName } from '../queues';
import { DaySchema, RunIdSchema } from './common';

/** Start a run for a day: discover its raw files and build the processing flow. */
export const IngestRun = defineJob({
  queue: QueueName.Ingest,
  name: 'ingest-run',
  data: z.object({
    schemaVersion: z.literal(1),
    runId: RunIdSchema,
    date: DaySchema,
    /** Optional raw root override (local mode); defaults to DATA_DIR_RAW. */
    rawDir: z.string().min(1).optional(),
  }),
  result: z.object({ files: z.number().int(), chunkedFiles: z.number().int() }),
});
