/**
 * In S3 mode the ingestor discovers the day under the raw prefix: the run record and the run's
 * jobs carry `s3://bucket/prefix`, relative paths and ETag versions, and large files go to the
 * chunker.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { S3Client } from '@aws-sdk/client-s3';
import { ChunkFile, QueueName } from '@cityflow/contracts';
import { AppConfig, createLogger, createRawSources, FsStore, loadConfig, RawSources, workerConnection } from '@cityflow/common';
import { createBucket, fixture, putObjects, RunningS3rver, s3rverClient, s3rverEnv, startS3rver, testRedisUrl, uniquePrefix, useS3rverCredentials } from '@cityflow/testing';
import { IngestorService } from '../src/ingestor.service';

const DAY = '2024-10-15';
const BUCKET = 'raw-ingestor';
const PREFIX = 'raw';
const COMPTAGES = fixture('real', 'comptages-routiers-permanents', 'louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv');
const log = createLogger({ logLevel: 'silent', logPretty: false, serviceName: 'ingestor-test' });

describe('ingest in S3 mode', () => {
  let s3: RunningS3rver;
  let client: S3Client;
  let config: AppConfig;
  let rawSources: RawSources;
  const queues: Queue[] = [];
  let restoreCredentials: () => void;

  const queue = (name: QueueName) => {
    const q = new Queue(name, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    queues.push(q);
    return q;
  };

  beforeAll(async () => {
    restoreCredentials = useS3rverCredentials();
    s3 = await startS3rver();
    client = s3rverClient(s3.endpoint);
    await createBucket(client, BUCKET);
    await putObjects(client, BUCKET, {
      [`${PREFIX}/batch/comptages-washington.csv`]: fs.readFileSync(COMPTAGES),
      [`${PREFIX}/api/bikes/dt=${DAY}/hour=02/counts.json`]: '[]',
      [`${PREFIX}/api/bikes/dt=${DAY}/hour=03/counts.json`]: '[]',
    });
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-ingestor-s3-'));
    config = loadConfig(
      {
        ...s3rverEnv(s3.endpoint, { bucket: BUCKET, prefix: PREFIX }),
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: uniquePrefix('ingestor-s3'),
        OUTPUT_DIR: path.join(cwd, 'output'),
        S3_CACHE_DIR: path.join(cwd, 'cache'),
        MAX_FILE_SIZE_MB: '0.1',
      },
      cwd,
    );
    rawSources = createRawSources(config, log);
  });

  afterAll(async () => {
    for (const q of queues) {
      await q.obliterate({ force: true });
      await q.close();
    }
    rawSources?.destroy();
    client?.destroy();
    await s3?.stop();
    restoreCredentials?.();
  });

  it('discovers the day in S3 and puts the S3 location and ETags in the run', async () => {
    const store = new FsStore(config.outputDir);
    const ingestor = new IngestorService(config, store, log, rawSources, queue(QueueName.Ingest));
    try {
      const result = await ingestor.ingest({ schemaVersion: 1, runId: 'run-s3-ingest', date: DAY });
      expect(result).toEqual({ files: 3, chunkedFiles: 1 });
      const run = await store.getRun('run-s3-ingest');
      expect(run!.rawDir).toBe(`s3://${BUCKET}/${PREFIX}`);
      expect(run!.files!.map((f) => [f.relPath, f.chunked])).toEqual([
        [`api/bikes/dt=${DAY}/hour=02/counts.json`, false],
        [`api/bikes/dt=${DAY}/hour=03/counts.json`, false],
        ['batch/comptages-washington.csv', true],
      ]);
      const [chunkJob] = await queue(QueueName.Chunk).getJobs(['waiting', 'waiting-children', 'delayed', 'prioritized']);
      const data = ChunkFile.parse(chunkJob.data);
      expect(data.rawDir).toBe(`s3://${BUCKET}/${PREFIX}`);
      expect(data.file.version).toMatch(/^"[0-9a-f]{32}"$/);
    } finally {
      await ingestor.onModuleDestroy();
    }
  });
});
