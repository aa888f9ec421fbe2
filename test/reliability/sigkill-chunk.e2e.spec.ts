/**
 * SIGKILL to a processor in the middle of a chunk: no graceful close, its job stays active and
 * locked. Once the lock expires, the other processor's stalled checker puts the job back in the
 * queue and runs it again from the start; the run ends exactly as an undisturbed run of the same
 * input, down to the bytes of every metrics file and the report.
 *
 * Short lock and stall settings (WORKER_LOCK_DURATION_MS, WORKER_STALLED_INTERVAL_MS) keep the
 * recovery within seconds. The kill is aimed, not timed: the processors log 'chunk started' (debug)
 * with their worker name before they touch a chunk; on such a line from processor #1 the test
 * freezes it (SIGSTOP), checks in Redis that it holds an active chunk, and only then kills it.
 */
import { ChildProcess, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import { QueueName } from '@cityflow/contracts';
import { workerConnection } from '@cityflow/common';
import { testRedisUrl, uniquePrefix } from '@cityflow/testing';
import { hashTree, startTestStack, TestStack } from '../e2e/stack-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../scripts/lib/stack');
const ROOT = path.resolve(__dirname, '../..');
const DAY = '2025-10-20'; // the generator's first day: 60 000 rows stay within it

type Service = ChildProcess & { label: string; tail(): string };

/** Settings shared by both runs: a 20 MB file above the 1 MB threshold, cut into 10 chunks. */
const COMMON = {
  SOURCE_DATE_EPOCH: '1735689600',
  MAX_FILE_SIZE_MB: '1',
  EC2_CHUNK_SIZE: '6000',
  WORKER_LOCK_DURATION_MS: '2000',
  WORKER_STALLED_INTERVAL_MS: '1000',
  WORKER_MAX_STALLED_COUNT: '1',
};
const CHUNKS = 10;

const pick = (rel: string) => rel.startsWith('metrics/') || rel.startsWith('reports/');

/** Calls `onLine` with every 'chunk started' log line of `child` (JSON lines, LOG_LEVEL=debug). */
function onChunkStarted(child: Service, onLine: (line: { jobId: string; worker: string }) => void): void {
  let buffered = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffered += data.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.includes('"chunk started"')) onLine(JSON.parse(line));
  });
}

/** Resolves once the process is stopped (state T after SIGSTOP). */
async function stopped(pid: number): Promise<void> {
  const state = () => {
    const file = `/proc/${pid}/stat`; // "<pid> (<name>) <state> …" on Linux; `ps` elsewhere
    if (!fs.existsSync(file)) return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)]).toString().trim()[0];
    const stat = fs.readFileSync(file, 'utf8');
    return stat[stat.lastIndexOf(')') + 2];
  };
  for (let i = 0; i < 500; i++) {
    if (state() === 'T') return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`process ${pid} did not stop`);
}

describe('SIGKILL of a processor mid-chunk', () => {
  let raw: string;
  let golden: TestStack | undefined;
  const prefixes: string[] = [];

  beforeAll(() => {
    raw = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-sigkill-'));
    fs.mkdirSync(path.join(raw, 'batch'));
    execFileSync('python3', [path.join(ROOT, 'tools/gen_comptages.py'), '--rows', '60000', '--seed', '7', '--out', path.join(raw, 'batch/comptages-sigkill.csv')]);
  });

  afterAll(async () => {
    await golden?.stop();
    fs.rmSync(raw, { recursive: true, force: true });
    // Leave nothing behind in the shared test Redis.
    for (const prefix of prefixes) {
      for (const name of Object.values(QueueName)) {
        const q = new Queue(name, { connection: workerConnection(testRedisUrl()), prefix });
        await q.obliterate({ force: true });
        await q.close();
      }
    }
  });

  it('the stalled chunk is run again by the other processor; outputs equal an undisturbed run', async () => {
    // Undisturbed run: same input, same settings, two processors.
    golden = await startTestStack(COMMON, 2);
    prefixes.push(golden.config.queuePrefix);
    const g = await golden.run(DAY, raw);
    expect(g.status).not.toBe('failed');
    const goldenHashes = hashTree(golden.outputDir, pick);
    expect(Object.keys(goldenHashes)).toContain(`reports/daily_report_${DAY}.json`);
    await golden.stop();

    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-out-'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: testRedisUrl(), QUEUE_PREFIX: uniquePrefix('sigkill'), OUTPUT_DIR: out, DATA_DIR_RAW: raw, LOG_LEVEL: 'warn', ...COMMON };
    const config = stack.stackConfig(env);
    prefixes.push(config.queuePrefix);
    const connection = workerConnection(config.redisUrl);
    const queue = new Queue(QueueName.Process, { connection, prefix: config.queuePrefix });
    const events = new QueueEvents(QueueName.Process, { connection, prefix: config.queuePrefix });
    const stalledEvents: string[] = [];
    events.on('stalled', ({ jobId }) => stalledEvents.push(jobId));
    await events.waitUntilReady();

    const others: Service[] = ['ingestor', 'chunker', 'reporter'].map((s) => stack.startService(s, env, { quiet: true }));
    // The processors log at debug level so that they announce each chunk they start.
    const [victim, survivor]: Service[] = [1, 2].map((index) => stack.startService('processor', { ...env, LOG_LEVEL: 'debug' }, { quiet: true, index }));
    try {
      const announced: { jobId: string; worker: string }[] = [];
      let wake = () => {};
      onChunkStarted(victim, (line) => {
        announced.push(line);
        wake();
      });
      const runId: string = stack.newRunId(DAY);
      await stack.enqueueRun(config, { runId, date: DAY });

      // When processor #1 says it started a chunk, freeze it (SIGSTOP) and look in Redis: if it
      // still holds an active chunk, that chunk is mid-way and can no longer finish, so SIGKILL
      // it there. If it was quicker than us, let it go on (SIGCONT) and try its next chunk.
      let orphanId: string | undefined;
      let worker = '';
      for (let tries = 0; !orphanId; tries++) {
        if (tries >= CHUNKS) throw new Error('processor #1 never held a chunk when frozen');
        while (!announced.length) await new Promise<void>((r) => (wake = r));
        worker = announced.shift()!.worker;
        victim.kill('SIGSTOP');
        await stopped(victim.pid!);
        const held = (await queue.getActive()).filter((j) => j.processedBy === worker);
        if (held.length) orphanId = held[0].id;
        else victim.kill('SIGCONT');
      }
      const exited = new Promise<NodeJS.Signals | null>((resolve) => victim.once('exit', (_code, signal) => resolve(signal)));
      victim.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(worker).toMatch(new RegExp(`^processor@.+#${victim.pid}$`));
      const jobId = orphanId!;

      // The chunk is orphaned: still active, still locked by the dead worker (no graceful close ran).
      const orphan = (await queue.getJob(jobId))!;
      expect(await orphan.getState()).toBe('active');
      expect(orphan.processedBy).toBe(worker);
      expect(orphan.stalledCounter).toBe(0);
      expect((await queue.getActive()).filter((j) => j.processedBy === worker).map((j) => j.id)).toEqual([jobId]);

      // Processor #2 finishes the run, the orphan included, once its lock has expired.
      const run = await stack.waitForRun(config, runId, { children: [...others, survivor], timeoutMs: 40_000 });
      expect(run.status).toBe(g.status);

      // The orphan was detected as stalled and run again (a stall is not a failed attempt).
      expect(stalledEvents).toContain(jobId);
      const rerun = (await queue.getJob(jobId))!;
      expect(await rerun.getState()).toBe('completed');
      expect(rerun.stalledCounter).toBe(1);
      expect(rerun.attemptsStarted).toBe(2);
      expect(rerun.processedBy).not.toBe(worker);

      // Every chunk of the run completed, none failed, and only the orphan stalled.
      const jobs: Job[] = (await queue.getJobs(['completed', 'failed', 'active', 'wait', 'delayed', 'prioritized'])).filter((j) => j.id!.startsWith(`${runId}-`));
      expect(jobs).toHaveLength(CHUNKS);
      expect(await Promise.all(jobs.map((j) => j.getState()))).toEqual(Array(CHUNKS).fill('completed'));
      expect(jobs.filter((j) => j.failedReason).map((j) => [j.id, j.failedReason])).toEqual([]);
      expect(jobs.filter((j) => (j.stalledCounter ?? 0) > 0).map((j) => j.id)).toEqual([jobId]);

      // Byte-identical outputs: every metrics file and the report.
      expect(hashTree(out, pick)).toEqual(goldenHashes);
    } finally {
      await events.close();
      await queue.close();
      if (victim.exitCode === null && victim.signalCode === null) victim.kill('SIGCONT'); // a failed try may leave it frozen
      await Promise.all([...others, victim, survivor].map((c) => stack.stopProcess(c)));
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 90_000);
});
