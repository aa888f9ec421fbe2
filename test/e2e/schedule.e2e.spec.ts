/**
 * The daily schedule: every ingestor replica upserts the same scheduler (one result, Europe/Paris
 * cron), a trigger runs yesterday's day, and unsetting SCHEDULE_CRON removes the scheduler.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { DAILY_SCHEDULER_ID, QueueName, ScheduledRun } from '@cityflow/contracts';
import { FsStore, workerConnection } from '@cityflow/common';
import { addDays, parisDay } from '@cityflow/domain';
import { testRedisUrl, uniquePrefix } from '@cityflow/testing';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../scripts/lib/stack');

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('daily schedule', () => {
  it('is one scheduler whatever the replicas, runs yesterday, and goes away when unset', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-out-'));
    const env = {
      PATH: process.env.PATH,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix('sched'),
      OUTPUT_DIR: out,
      DATA_DIR_RAW: path.resolve(__dirname, '../../data/sample/raw'),
      LOG_LEVEL: 'warn',
    };
    const config = stack.stackConfig(env);
    const queue = new Queue(QueueName.Ingest, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    const procs: { exitCode: number | null }[] = [];
    try {
      const scheduled = { ...env, SCHEDULE_CRON: '30 2 * * *' };
      for (const i of [1, 2]) procs.push(stack.startService('ingestor', scheduled, { quiet: true, index: i }));
      for (const s of ['chunker', 'processor', 'reporter']) procs.push(stack.startService(s, env, { quiet: true }));
      const schedulers = await until(() => queue.getJobSchedulers(), (l) => l.length > 0);
      await new Promise((r) => setTimeout(r, 1500)); // both replicas have booted and upserted
      const all = await queue.getJobSchedulers();
      expect(all).toHaveLength(1);
      expect(schedulers[0]).toMatchObject({ key: DAILY_SCHEDULER_ID, pattern: '30 2 * * *', tz: 'Europe/Paris' });

      // A trigger (added by hand rather than waiting for 02:30) starts a run for yesterday in Paris.
      const job = await queue.add(ScheduledRun.name, ScheduledRun.parse({ schemaVersion: 1, daysBack: 1 }));
      const done = await until(() => job.isCompleted(), (v) => v);
      expect(done).toBe(true);
      const result = (await queue.getJob(job.id!))!.returnvalue;
      expect(result.date).toBe(addDays(parisDay(Date.now()), -1));
      const store = new FsStore(out);
      const run = await until(() => store.getRun(result.runId), (r) => !!r && r.status !== 'running' && r.status !== 'queued');
      // The sample tree has no data for that day: the run ends and its report says what is missing.
      expect(run!.status).toBe('incomplete');

      await Promise.all(procs.splice(0, 2).map((p) => stack.stopProcess(p)));
      procs.push(stack.startService('ingestor', env, { quiet: true, index: 3 }));
      expect(await until(() => queue.getJobSchedulers(), (l) => l.length === 0)).toHaveLength(0);
    } finally {
      await queue.close();
      await Promise.all(procs.map((p) => stack.stopProcess(p)));
    }
  }, 120_000);
});
