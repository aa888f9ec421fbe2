import { z } from 'zod';
import { defineJob } from '../define-job';
import { QueueName } from '../queues';
import { DaySchema, RunIdSchema } from './common';

/**
 * Produced by the daily job scheduler (SCHEDULE_CRON, Europe/Paris): start a run for the day
 * `daysBack` days before the trigger's Paris date (1 = yesterday, the old 02:00 cron's habit).
 */
export const ScheduledRun = defineJob({
  queue: QueueName.Ingest,
  name: 'scheduled-run',
  data: z.object({ schemaVersion: z.literal(1), daysBack: z.number().int().min(0).max(31) }),
  result: z.object({ runId: RunIdSchema, date: DaySchema, files: z.number().int(), chunkedFiles: z.number().int() }),
  // A missed trigger is re-run by the next one; retrying an old trigger adds nothing.
  defaults: { attempts: 1 },
});

/** Id of the one daily scheduler: every ingestor replica upserts the same one at boot. */
export const DAILY_SCHEDULER_ID = 'daily-run';
