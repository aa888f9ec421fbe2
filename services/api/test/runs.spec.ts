import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { FlowProducer, Job, Queue, Worker } from 'bullmq';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ChunkFile, FinalizeRun, IngestRun, jobIds, ProcessChunk, QueueName } from '@cityflow/contracts';
import { AppConfig, FsStore, RunRecord, workerConnection } from '@cityflow/common';
import { freePort } from '@cityflow/testing';
import { RedisProducer } from '../src/redis/redis-producer.service';
import { API_KEY, DAY, makeOutputDir, startApp, testConfig, waitFor } from './helpers';

describe('runs: POST /runs, GET /runs, GET /runs/{id}', () => {
  let root: string;
  let config: AppConfig;
  let app: NestExpressApplication;
  let http: ReturnType<NestExpressApplication['getHttpServer']>;
  let ingest: Queue;

  beforeAll(async () => {
    root = makeOutputDir();
    config = testConfig(root);
    app = await startApp(config);
    http = app.getHttpServer();
    ingest = new Queue(QueueName.Ingest, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    await waitFor(() => app.get(RedisProducer).isUp(), 5000, 'redis connection');
  });

  afterAll(async () => {
    await app.close();
    for (const name of Object.values(QueueName)) {
      const q = new Queue(name, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
      await q.obliterate({ force: true });
      await q.close();
    }
    await ingest.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('POST /runs without a key → 401, with a wrong key → 401; nothing is queued', async () => {
    const unauthorized = { error: 'Non autorisé', message: 'Clé API manquante ou invalide (en-tête x-api-key)', statusCode: 401 };
    await request(http).post('/runs').send({ date: DAY }).expect(401, unauthorized);
    await request(http).post('/api/runs').set('x-api-key', 'wrong').send({ date: DAY }).expect(401, unauthorized);
    await request(http).post('/runs').set('x-api-key', `${API_KEY}x`).send({ date: DAY }).expect(401);
    await request(http).post('/runs').set('x-api-key', '').send({ date: DAY }).expect(401);
    expect(await ingest.count()).toBe(0);
  });

  it('POST /runs with a bad date → 400', async () => {
    for (const body of [{ date: '2025-02-30' }, { date: '../x' }, {}, { date: 20251104 }]) {
      await request(http).post('/runs').set('x-api-key', API_KEY).send(body).expect(400, { error: 'Format de date invalide', message: 'Format attendu: YYYY-MM-DD', statusCode: 400 });
    }
    await request(http).post('/runs').set('x-api-key', API_KEY).set('Content-Type', 'application/json').send('{"date":').expect(400);
  });

  it('POST /runs with the key → 202, a queued record, and an IngestRun job in the ingest queue', async () => {
    const res = await request(http).post('/runs').set('x-api-key', API_KEY).send({ date: DAY }).expect(202);
    expect(res.body).toEqual({
      runId: expect.stringMatching(new RegExp(`^${DAY}-[0-9a-f]{8}$`)),
      date: DAY,
      status: 'queued',
      links: { self: `/runs/${res.body.runId}`, report: `/report/${DAY}`, reportCsv: `/report/${DAY}/csv`, board: '/admin/queues' },
    });
    expect(res.headers.location).toBe(`/runs/${res.body.runId}`);
    const runId: string = res.body.runId;

    const job = await ingest.getJob(jobIds.ingest(runId));
    expect(job).toBeDefined();
    expect(job!.name).toBe(IngestRun.name);
    expect(IngestRun.parse(job!.data)).toEqual({ schemaVersion: 1, runId, date: DAY });
    expect(job!.opts.attempts).toBe(IngestRun.defaults.attempts);
    expect(await job!.getState()).toBe('waiting');
    // The key never reaches Redis.
    expect(JSON.stringify(job!.data)).not.toContain(API_KEY);

    const record = JSON.parse(fs.readFileSync(path.join(config.outputDir, 'state', 'runs', `${runId}.json`), 'utf8')) as RunRecord;
    expect(record).toMatchObject({ runId, date: DAY, status: 'queued' });

    const view = await request(http).get(`/runs/${runId}`).expect(200);
    expect(view.body).toMatchObject({ runId, date: DAY, status: 'queued', live: true, state: 'waiting', stage: 'queued', files: [], chunksTotal: 0, percent: 0 });
    expect(view.body.ingest).toEqual({ state: 'waiting', failedReason: null, attemptsMade: 0 });

    const list = await request(http).get('/api/runs?limit=10').expect(200);
    expect(list.body.runs.map((r: RunRecord) => r.runId)).toContain(runId);
    expect(list.body.count).toBe(list.body.runs.length);
  });

  it('GET /runs/{id}: 400 for a malformed id, 404 for an unknown one', async () => {
    for (const id of ['..', 'ABC-def', '2025-11-04_x', '..%2f..%2fcanary', 'a%00b']) {
      const res = await request(http).get(`/runs/${id}`).expect(400);
      expect(res.body.error).toBe('Identifiant de run invalide');
    }
    await request(http).get('/runs/2025-11-04-00000000').expect(404, { error: 'Run non trouvé', message: 'Aucun run 2025-11-04-00000000', statusCode: 404 });
    await request(http).get('/runs?limit=0').expect(400);
  });

  it('GET /runs/{id}: per-file and per-chunk progress read from the flow', async () => {
    const runId = `${DAY}-abcdef01`;
    const store = new FsStore(config.outputDir);
    const file = (i: number, relPath: string, size: number) => ({ source: 'comptages' as const, relPath, size, version: `${size}-1`, fileKey: `k${i}` });
    const now = new Date().toISOString();
    await store.putRun({
      runId,
      date: DAY,
      status: 'running',
      createdAt: now,
      updatedAt: now,
      rawDir: '/raw',
      files: [
        { fileIndex: 0, source: 'weather', relPath: 'api/weather/2025-11-04/w.json', size: 100, chunked: false, fileKey: 'k0' },
        { fileIndex: 1, source: 'comptages', relPath: 'batch/comptages.csv', size: 900, chunked: true, fileKey: 'k1' },
      ],
    });
    // The flow the ingestor and the chunker build: whole file f0, large file f1 split in 3 chunks.
    const flows = new FlowProducer({ connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    const chunk = (i: number, j: number, rows: number) => ({
      name: ProcessChunk.name,
      queueName: QueueName.Process,
      data: ProcessChunk.parse({ schemaVersion: 1, runId, rawDir: '/raw', file: file(i, i ? 'batch/comptages.csv' : 'w.json', 100), range: { index: j, start: 0, end: 1 }, rows }),
      opts: { jobId: jobIds.chunk(runId, i, j), ignoreDependencyOnFailure: true },
    });
    await flows.add({
      name: FinalizeRun.name,
      queueName: QueueName.Report,
      data: FinalizeRun.parse({ schemaVersion: 1, runId, date: DAY }),
      opts: { jobId: jobIds.finalize(runId) },
      children: [
        { ...chunk(0, 0, 0), data: ProcessChunk.parse({ schemaVersion: 1, runId, rawDir: '/raw', file: file(0, 'w.json', 100), range: { index: 0, start: 0, end: 100 } }) },
        {
          name: ChunkFile.name,
          queueName: QueueName.Chunk,
          data: ChunkFile.parse({ schemaVersion: 1, runId, rawDir: '/raw', file: file(1, 'batch/comptages.csv', 900), fileIndex: 1 }),
          opts: { jobId: jobIds.file(runId, 1), ignoreDependencyOnFailure: true },
          children: [chunk(1, 0, 50), chunk(1, 1, 50), chunk(1, 2, 40)],
        },
      ],
    });
    await flows.close();

    // A processor that completes f0 and two chunks of f1, and fails the third for good.
    const worker = new Worker(
      QueueName.Process,
      async (job: Job) => {
        if (job.id === jobIds.chunk(runId, 1, 2)) {
          await job.updateProgress({ rowsDone: 10, rowsTotal: 40 });
          throw new Error('InputFormatError: bad header');
        }
        const rows = (job.data as { rows?: number }).rows ?? 7;
        await job.updateProgress({ rowsDone: rows, rowsTotal: rows });
        return {};
      },
      { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix, autorun: true },
    );
    const processQ = new Queue(QueueName.Process, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    try {
      await waitFor(async () => (await processQ.getJobCounts('completed', 'failed')).completed === 3, 10_000, 'chunks done');
      await waitFor(async () => (await processQ.getJobCounts('failed')).failed === 1, 10_000, 'chunk failed');
    } finally {
      await worker.close();
      await processQ.close();
    }

    const res = await request(http).get(`/api/runs/${runId}`).expect(200);
    const body = res.body;
    expect(body).toMatchObject({ runId, status: 'running', live: true, chunksTotal: 4, chunksCompleted: 3, chunksFailed: 1, rowsDone: 7 + 50 + 50 + 10, rowsTotal: 7 + 50 + 50 + 40 });
    expect(body.state).toBe('waiting-children');
    expect(body.stage).toBe('processing');
    expect(body.files).toHaveLength(2);
    expect(body.files[0]).toMatchObject({
      fileIndex: 0,
      relPath: 'api/weather/2025-11-04/w.json',
      source: 'weather',
      chunked: false,
      state: 'completed',
      chunks: { total: 1, completed: 1, failed: 0, active: 0, waiting: 0 },
      percent: 100,
      failedReason: null,
    });
    expect(body.files[1]).toMatchObject({
      fileIndex: 1,
      relPath: 'batch/comptages.csv',
      chunked: true,
      // The chunker is not running: its job waits, its children are done.
      chunks: { total: 3, completed: 2, failed: 1, active: 0, waiting: 0 },
      rowsDone: 110,
      rowsTotal: 140,
      failedReason: 'InputFormatError: bad header',
      percent: 100,
    });
    expect(body.percent).toBeLessThan(100);
    expect(body.percent).toBeGreaterThan(90);

    // Every chunk of each file by default, in chunk order, with rows, attempts and the failure reason.
    const chunkView = (j: number, rows: number, extra = {}) => ({
      id: jobIds.chunk(runId, 1, j),
      index: j,
      state: 'completed',
      rowsDone: rows,
      rowsTotal: rows,
      attemptsMade: 1, // BullMQ counts the finished attempt, successful or not
      attemptsStarted: 1,
      stalls: 0,
      failedReason: null,
      ...extra,
    });
    const failedChunk = chunkView(2, 10, { rowsTotal: 40, state: 'failed', attemptsMade: 1, failedReason: 'InputFormatError: bad header' });
    expect(body.files[1].chunkList).toEqual({ filter: 'all', offset: 0, limit: 100, total: 3, items: [chunkView(0, 50), chunkView(1, 50), failedChunk] });
    expect(body.files[0].chunkList).toMatchObject({ filter: 'all', total: 1, items: [{ id: jobIds.chunk(runId, 0, 0), index: 0, state: 'completed', rowsDone: 7 }] });

    // ?chunks=failed lists the failed chunk with its reason; the counts still cover every chunk.
    const failed = (await request(http).get(`/runs/${runId}?chunks=failed`).expect(200)).body;
    expect(failed.files[1].chunkList).toEqual({ filter: 'failed', offset: 0, limit: 100, total: 1, items: [failedChunk] });
    expect(failed.files[0].chunkList).toEqual({ filter: 'failed', offset: 0, limit: 100, total: 0, items: [] });
    expect(failed.files[1].chunks).toEqual(body.files[1].chunks);
    const active = (await request(http).get(`/runs/${runId}?chunks=active`).expect(200)).body;
    expect(active.files[1].chunkList).toMatchObject({ total: 0, items: [] });
    const none = (await request(http).get(`/runs/${runId}?chunks=none`).expect(200)).body;
    expect(none.files[1].chunkList).toMatchObject({ total: 0, items: [] });
    expect(none.chunksTotal).toBe(4);

    // Paging, per file.
    const page = (await request(http).get(`/api/runs/${runId}?chunkOffset=1&chunkLimit=1`).expect(200)).body;
    expect(page.files[1].chunkList).toEqual({ filter: 'all', offset: 1, limit: 1, total: 3, items: [chunkView(1, 50)] });
    expect(page.files[0].chunkList).toMatchObject({ offset: 1, limit: 1, total: 1, items: [] });

    for (const q of ['chunks=bogus', 'chunks=all&chunks=failed', 'chunkLimit=0', 'chunkLimit=1001', 'chunkOffset=-1', 'chunkOffset=x']) {
      const res400 = await request(http).get(`/runs/${runId}?${q}`).expect(400);
      expect(res400.body.error).toBe('Paramètre invalide');
    }
  });

  it('GET /runs/{id}?chunks=active lists the chunk a processor is working on, with its rows so far', async () => {
    const runId = `${DAY}-abcdef02`;
    const now = new Date().toISOString();
    await new FsStore(config.outputDir).putRun({
      runId,
      date: DAY,
      status: 'running',
      createdAt: now,
      updatedAt: now,
      rawDir: '/raw',
      files: [{ fileIndex: 0, source: 'comptages', relPath: 'batch/c.csv', size: 500, chunked: true, fileKey: 'k0' }],
    });
    const file = { source: 'comptages' as const, relPath: 'batch/c.csv', size: 500, version: '500-1', fileKey: 'k0' };
    const chunk = (j: number) => ({
      name: ProcessChunk.name,
      queueName: QueueName.Process,
      data: ProcessChunk.parse({ schemaVersion: 1, runId, rawDir: '/raw', file, range: { index: j, start: j * 250, end: (j + 1) * 250 }, rows: 20 }),
      opts: { jobId: jobIds.chunk(runId, 0, j), ignoreDependencyOnFailure: true },
    });
    const flows = new FlowProducer({ connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    await flows.add({
      name: FinalizeRun.name,
      queueName: QueueName.Report,
      data: FinalizeRun.parse({ schemaVersion: 1, runId, date: DAY }),
      opts: { jobId: jobIds.finalize(runId) },
      children: [
        {
          name: ChunkFile.name,
          queueName: QueueName.Chunk,
          data: ChunkFile.parse({ schemaVersion: 1, runId, rawDir: '/raw', file, fileIndex: 0 }),
          opts: { jobId: jobIds.file(runId, 0), ignoreDependencyOnFailure: true },
          children: [chunk(0), chunk(1)],
        },
      ],
    });
    await flows.close();

    // c0 completes at once; c1 reports 5 of 20 rows and then waits until released.
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    const worker = new Worker(
      QueueName.Process,
      async (job: Job) => {
        if (job.id === jobIds.chunk(runId, 0, 1)) {
          await job.updateProgress({ rowsDone: 5, rowsTotal: 20 });
          await held;
        } else await job.updateProgress({ rowsDone: 20, rowsTotal: 20 });
        return {};
      },
      { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix, concurrency: 2 },
    );
    const processQ = new Queue(QueueName.Process, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    try {
      await waitFor(async () => ((await processQ.getJob(jobIds.chunk(runId, 0, 1)))?.progress as { rowsDone?: number } | undefined)?.rowsDone === 5, 10_000, 'c1 active');
      await waitFor(async () => (await (await processQ.getJob(jobIds.chunk(runId, 0, 0)))?.getState()) === 'completed', 10_000, 'c0 done');
      const body = (await request(http).get(`/runs/${runId}?chunks=active`).expect(200)).body;
      expect(body.files[0].chunks).toEqual({ total: 2, completed: 1, failed: 0, active: 1, waiting: 0 });
      expect(body.files[0].chunkList).toEqual({
        filter: 'active',
        offset: 0,
        limit: 100,
        total: 1,
        items: [{ id: jobIds.chunk(runId, 0, 1), index: 1, state: 'active', rowsDone: 5, rowsTotal: 20, attemptsMade: 0, attemptsStarted: 1, stalls: 0, failedReason: null }],
      });
      expect(body).toMatchObject({ rowsDone: 25, rowsTotal: 40 });
    } finally {
      release();
      await worker.close();
      await processQ.close();
    }
  });

  it('an ingest job that failed for good shows the run as failed', async () => {
    const res = await request(http).post('/runs').set('x-api-key', API_KEY).send({ date: DAY }).expect(202);
    const runId: string = res.body.runId;
    const worker = new Worker(
      QueueName.Ingest,
      async (job: Job) => {
        if (job.id !== jobIds.ingest(runId)) return {};
        const { UnrecoverableError } = await import('bullmq');
        throw new UnrecoverableError('RawDirError: raw folder not found');
      },
      { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix },
    );
    try {
      await waitFor(async () => (await ingest.getJob(jobIds.ingest(runId)))?.failedReason !== undefined, 10_000, 'ingest failed');
    } finally {
      await worker.close();
    }
    const view = await request(http).get(`/runs/${runId}`).expect(200);
    expect(view.body).toMatchObject({ status: 'failed', stage: 'failed', state: 'failed', error: 'RawDirError: raw folder not found' });
  });
});

describe('runs: API_KEY unset', () => {
  it('POST /runs is refused with 503, never open', async () => {
    const root = makeOutputDir();
    const app = await startApp(testConfig(root, { API_KEY: undefined }));
    try {
      await request(app.getHttpServer())
        .post('/runs')
        .send({ date: DAY })
        .expect(503, { error: 'API_KEY non configurée', message: "Le lancement de runs est désactivé tant que la variable API_KEY n'est pas définie", statusCode: 503 });
      await request(app.getHttpServer()).post('/runs').set('x-api-key', 'anything').send({ date: DAY }).expect(503);
    } finally {
      await app.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('runs: Redis down', () => {
  let root: string;
  let app: NestExpressApplication;

  beforeAll(async () => {
    root = makeOutputDir();
    app = await startApp(testConfig(root, { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
  });

  afterAll(async () => {
    await app.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('POST /runs answers 503 within 2 s, and the reads keep working', async () => {
    const http = app.getHttpServer();
    const started = Date.now();
    const res = await request(http).post('/runs').set('x-api-key', API_KEY).send({ date: DAY }).expect(503);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.body).toMatchObject({ error: 'Service indisponible', statusCode: 503 });

    const t1 = Date.now();
    await request(http).get('/ready').expect(503, { status: 'not ready', redis: 'down' });
    const health = await request(http).get('/health').expect(200);
    expect(health.body).toMatchObject({ status: 'healthy', redis: 'down' });
    expect(Date.now() - t1).toBeLessThan(2000);
    await request(http).get(`/report/${DAY}`).expect(200);
    // Run records stay readable, without live progress.
    const runs = await request(http).get('/runs').expect(200);
    expect(runs.body.runs).toEqual([]);
  });

  it('the board answers quickly too (queue data unavailable, no hang)', async () => {
    const started = Date.now();
    await request(app.getHttpServer()).get('/admin/queues').auth('admin', 'board-secret').expect(200);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
