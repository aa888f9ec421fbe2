/**
 * SIGTERM to a processor while it works: it finishes its active chunk, takes no new one, exits 0;
 * nothing stalls or fails; a new processor finishes the run; outputs equal an uninterrupted run.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { QueueName } from '@cityflow/contracts';
import { workerConnection } from '@cityflow/common';
import { testRedisUrl, uniquePrefix } from '@cityflow/testing';
import { hashTree, startTestStack } from '../e2e/stack-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../scripts/lib/stack');
const ROOT = path.resolve(__dirname, '../..');
const DAY = '2025-10-22';

describe('graceful shutdown of a processor', () => {
  let raw: string;
  beforeAll(() => {
    raw = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-grace-'));
    fs.mkdirSync(path.join(raw, 'batch'));
    execFileSync('python3', [path.join(ROOT, 'tools/gen_comptages.py'), '--rows', '150000', '--seed', '11', '--start-date', '2025-10-20', '--out', path.join(raw, 'batch/comptages-grace.csv')]);
  });

  it('drains its active job, exits 0, and the run ends identical to an uninterrupted one', async () => {
    const common = { SOURCE_DATE_EPOCH: '1735689600', MAX_FILE_SIZE_MB: '5', EC2_CHUNK_SIZE: '10000' };
    const golden = await startTestStack(common);
    const g = await golden.run(DAY, raw);
    await golden.stop();
    expect(g.status).not.toBe('failed');

    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-out-'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: testRedisUrl(), QUEUE_PREFIX: uniquePrefix('grace'), OUTPUT_DIR: out, DATA_DIR_RAW: raw, LOG_LEVEL: 'warn', ...common };
    const config = stack.stackConfig(env);
    const others = ['ingestor', 'chunker', 'reporter'].map((s) => stack.startService(s, env, { quiet: true }));
    const first = stack.startService('processor', env, { quiet: true, index: 1 });
    const queue = new Queue(QueueName.Process, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    let second: { exitCode: number | null } | undefined;
    try {
      const runId = stack.newRunId(DAY);
      await stack.enqueueRun(config, { runId, date: DAY });
      // Wait until the processor is working on a chunk, then ask it to stop.
      let active: { id?: string }[] = [];
      for (let i = 0; i < 600 && !active.length; i++) {
        active = await queue.getActive();
        if (!active.length) await new Promise((r) => setTimeout(r, 10));
      }
      expect(active.length).toBeGreaterThan(0);
      const activeId = active[0].id!;
      const exited = new Promise<number | null>((resolve) => first.once('exit', (code: number | null) => resolve(code)));
      first.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await (await queue.getJob(activeId))!.getState()).toBe('completed');
      const waiting = await queue.getJobCountByTypes('waiting', 'prioritized');
      expect(waiting).toBeGreaterThan(0); // it stopped taking work: chunks are left for another worker

      second = stack.startService('processor', env, { quiet: true, index: 2 });
      const run = await stack.waitForRun(config, runId, { children: [...others, second], timeoutMs: 240_000 });
      expect(run.status).not.toBe('failed');
      const jobs = await queue.getJobs(['completed', 'failed']);
      expect(jobs.filter((j) => j.failedReason)).toEqual([]);
      expect(jobs.every((j) => (j.stalledCounter ?? 0) === 0)).toBe(true);
      const pick = (rel: string) => rel.startsWith('metrics/') || rel.startsWith('reports/');
      expect(hashTree(out, pick)).toEqual(hashTree(golden.outputDir, pick));
    } finally {
      await queue.close();
      await Promise.all([...others, first, ...(second ? [second] : [])].map((c) => stack.stopProcess(c)));
    }
  }, 300_000);
});
