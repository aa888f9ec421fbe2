'use strict';
/**
 * The CityFlow services for `npm run bench`: a private redis-server, ingestor, chunker, reporter,
 * api and N processor processes started the way production runs them (one process each, real
 * queues, filesystem store), readiness checks, stalled-job counting and peak RSS per process.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { Queue, QueueEvents } = require('bullmq');
const { QueueName } = require('@cityflow/contracts');
const { workerConnection } = require('@cityflow/common');
const { freePort } = require('@cityflow/testing');
const stack = require('./stack');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Peak resident set size of a live process (VmHWM), in bytes; null when unreadable. */
function peakRssOf(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function httpStatus(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

/**
 * Start redis-server and every service. `maxFileSizeMb` decides whether the ingestor sends the
 * file to the chunker (chunks of EC2_CHUNK_SIZE rows, default 50,000) or to one processor whole.
 */
async function startStack({ rawDir, outDir, processors, maxFileSizeMb, cpuProfDir }) {
  const redis = await stack.ensureRedis({});
  const apiPort = await freePort();
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `bench${Date.now()}`,
    OUTPUT_DIR: outDir,
    DATA_DIR_RAW: rawDir,
    LOG_LEVEL: 'warn',
    MAX_FILE_SIZE_MB: String(maxFileSizeMb),
    API_PORT: String(apiPort),
    // POST /runs is enabled only with a key; the bench itself enqueues like the API does.
    API_KEY: crypto.randomBytes(16).toString('hex'),
  };
  // Settings worth comparing side by side pass through from the bench's own environment.
  for (const name of ['PROCESSOR_CONCURRENCY', 'EC2_CHUNK_SIZE', 'NODE_OPTIONS']) if (process.env[name]) env[name] = process.env[name];
  const config = stack.stackConfig(env);
  const services = [];
  try {
    // --cpu-prof DIR: V8 CPU profiles of every service, written when it stops (`node --cpu-prof` is not allowed in NODE_OPTIONS).
    const nodeArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
    for (const name of ['ingestor', 'chunker', 'reporter', 'api']) services.push(stack.startService(name, env, { quiet: true, nodeArgs }));
    for (let i = 1; i <= processors; i++) services.push(stack.startService('processor', env, { quiet: true, index: i, nodeArgs }));
  } catch (e) {
    await Promise.all(services.map((c) => stack.stopProcess(c)));
    await redis.stop();
    throw e;
  }
  return { redis, env, config, apiPort, services };
}

/** Number of BullMQ workers registered on each queue (from Redis CLIENT LIST). */
async function workerCounts(config) {
  const counts = {};
  for (const name of [QueueName.Ingest, QueueName.Chunk, QueueName.Process, QueueName.Report]) {
    const q = new Queue(name, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    try {
      counts[name] = (await q.getWorkers()).length;
    } finally {
      await q.close();
    }
  }
  return counts;
}

/**
 * Wait until every service is ready: the api answers /api/health, and the workers are registered
 * (≥ 1 on ingest, chunk and report; one per processor process on process).
 */
async function waitUntilReady(s, processors, timeoutMs = 90_000) {
  const started = Date.now();
  let counts = {};
  for (;;) {
    const dead = s.services.find((c) => c.exitCode !== null);
    if (dead) throw new Error(`service ${dead.label} exited during start-up (code ${dead.exitCode}):\n${dead.tail()}`);
    counts = await workerCounts(s.config);
    const apiUp = (await httpStatus(`http://127.0.0.1:${s.apiPort}/api/health`)) === 200;
    const workersUp = counts.ingest >= 1 && counts.chunk >= 1 && counts.report >= 1 && counts.process >= processors;
    if (apiUp && workersUp) return { counts, readyS: (Date.now() - started) / 1000 };
    if (Date.now() - started > timeoutMs) throw new Error(`services not ready after ${timeoutMs / 1000} s (workers ${JSON.stringify(counts)}, api ${apiUp ? 'up' : 'down'})`);
    await sleep(100);
  }
}

/**
 * Count 'stalled' (and 'failed', 'completed') events on the chunk, process and report queues. The event
 * streams are read from their start, so nothing emitted before the listeners connect is missed.
 */
async function watchQueueEvents(config) {
  const zero = () => ({ chunk: 0, process: 0, merge: 0, report: 0 });
  // 'completed' is counted too: it shows that the listeners did receive the run's events.
  const counts = { stalled: zero(), failed: zero(), completed: zero() };
  const listeners = [];
  for (const name of [QueueName.Chunk, QueueName.Process, QueueName.Merge, QueueName.Report]) {
    const qe = new QueueEvents(name, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix, lastEventId: '0' });
    qe.on('stalled', () => counts.stalled[name]++);
    qe.on('failed', () => counts.failed[name]++);
    qe.on('completed', () => counts.completed[name]++);
    qe.on('error', () => {});
    listeners.push(qe);
  }
  await Promise.all(listeners.map((qe) => qe.waitUntilReady()));
  return {
    counts,
    close: () => Promise.all(listeners.map((qe) => qe.close())),
  };
}

/**
 * Where the wall time went, from the jobs' own timestamps (ms since the trigger `t0`): for each
 * queue, when its first job started, when its last one ended, and the summed processing time.
 * Read before the stack stops (completed jobs are kept by the queues' retention settings).
 */
async function stageTimeline(config, t0) {
  const out = {};
  for (const name of [QueueName.Ingest, QueueName.Chunk, QueueName.Process, QueueName.Merge, QueueName.Report]) {
    const q = new Queue(name, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    try {
      const jobs = (await q.getJobs(['completed', 'failed'], 0, -1)).filter((j) => j && j.processedOn && j.finishedOn && j.processedOn >= t0);
      if (!jobs.length) continue;
      out[name] = {
        jobs: jobs.length,
        first_start_s: (Math.min(...jobs.map((j) => j.processedOn)) - t0) / 1000,
        last_end_s: (Math.max(...jobs.map((j) => j.finishedOn)) - t0) / 1000,
        busy_s: jobs.reduce((a, j) => a + (j.finishedOn - j.processedOn), 0) / 1000,
      };
    } finally {
      await q.close();
    }
  }
  return out;
}

/** Read every service's peak RSS (just before stopping it), then stop them all and Redis. */
async function stopStack(s) {
  const peak = {};
  for (const c of s.services) peak[c.label] = c.exitCode === null ? peakRssOf(c.pid) : null;
  peak['redis-server'] = s.redis.pid ? peakRssOf(s.redis.pid) : null;
  await Promise.all(s.services.map((c) => stack.stopProcess(c)));
  await s.redis.stop();
  // The private redis-server's working folder (append-only file) is of no use afterwards.
  if (s.redis.dir && path.basename(s.redis.dir).startsWith('cityflow-redis-')) fs.rmSync(s.redis.dir, { recursive: true, force: true });
  return peak;
}

module.exports = { startStack, waitUntilReady, watchQueueEvents, stageTimeline, stopStack, peakRssOf, workerCounts };
