/**
 * In S3 mode the chunker plans a large CSV from its object (one streamed GET): the chunks carry
 * `s3://bucket/prefix` and the ETag version, and their ranges are exactly those of the same file
 * on disk. A file replaced after discovery is refused before any chunk is added.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Job, Queue } from 'bullmq';
import { S3Client } from '@aws-sdk/client-s3';
import { ChunkFile, JobData, ProcessChunk, QueueName } from '@cityflow/contracts';
import { AppConfig, createLogger, createRawSources, loadConfig, RawSources, workerConnection } from '@cityflow/common';
import { planChunks, SourceChangedError } from '@cityflow/domain';
import { createBucket, fixture, putObjects, RunningS3rver, s3rverClient, s3rverEnv, startS3rver, testRedisUrl, uniquePrefix, useS3rverCredentials } from '@cityflow/testing';
import { ChunkerService } from '../src/chunker.service';

const DAY = '2024-10-15';
const BUCKET = 'raw-chunker';
const PREFIX = 'raw';
const COMPTAGES = fixture('real', 'comptages-routiers-permanents', 'louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv');
const log = createLogger({ logLevel: 'silent', logPretty: false, serviceName: 'chunker-test' });

describe('chunk planning in S3 mode', () => {
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
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-chunker-s3-'));
    config = loadConfig(
      {
        ...s3rverEnv(s3.endpoint, { bucket: BUCKET, prefix: PREFIX }),
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: uniquePrefix('chunker-s3'),
        OUTPUT_DIR: path.join(cwd, 'output'),
        S3_CACHE_DIR: path.join(cwd, 'cache'),
        MAX_FILE_SIZE_MB: '0.1',
        EC2_CHUNK_SIZE: '250',
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

  it('plans a large CSV from S3 into the ranges of the same file on disk', async () => {
    const [file] = (await rawSources.configured.discover(DAY)).filter((r) => r.source === 'comptages');
    const data: JobData<typeof ChunkFile> = ChunkFile.parse({ schemaVersion: 1, runId: 'run-s3-chunk', rawDir: `s3://${BUCKET}/${PREFIX}`, file, fileIndex: 0 });
    const chunkQueue = queue(QueueName.Chunk);
    const processQueue = queue(QueueName.Process);
    const parent = (await chunkQueue.add(ChunkFile.name, data, { jobId: 'run-s3-chunk-f0' })) as Job;

    const chunker = new ChunkerService(config, log, rawSources, processQueue);
    const count = await chunker.addChunks(parent, data);

    const expected = await planChunks(COMPTAGES, config.chunkRows);
    expect(count).toBe(expected.ranges.length);
    const children = (await processQueue.getJobs(['waiting', 'prioritized', 'delayed']))
      .map((j) => ProcessChunk.parse(j.data))
      .filter((c) => c.runId === data.runId)
      .sort((a, b) => a.range.index - b.range.index);
    expect(children.map((c) => c.range)).toEqual(expected.ranges.map(({ index, start, end, firstLine }) => ({ index, start, end, firstLine })));
    expect(children.every((c) => c.rawDir === `s3://${BUCKET}/${PREFIX}` && c.file.version === file.version)).toBe(true);

    // Replaced after discovery: refused at open, before any chunk is added.
    await putObjects(client, BUCKET, { [`${PREFIX}/${file.relPath}`]: 'Identifiant arc;Libelle\n1;x\n' });
    const again = ChunkFile.parse({ ...data, runId: 'run-s3-chunk-2' });
    const before = await processQueue.count();
    await expect(chunker.addChunks(parent, again)).rejects.toThrow(SourceChangedError);
    expect(await processQueue.count()).toBe(before);
  });
});
