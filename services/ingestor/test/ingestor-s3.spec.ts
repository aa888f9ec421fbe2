/**
 * In S3 mode the ingestor discovers the day under the raw prefix: the run record and the run's
 * jobs carry `s3://bucket/prefix`, relative paths and ETag versions, and large files go to the
 * chunker.
 */
import * as fs from 'node:fs';
import { ChunkFile, QueueName } from '@cityflow/contracts';
import { FsStore } from '@cityflow/common';
import { fixture, S3ServiceFixture, startS3ServiceFixture } from '@cityflow/testing';
import { IngestorService } from '../src/ingestor.service';

const DAY = '2024-10-15';
const BUCKET = 'raw-ingestor';
const PREFIX = 'raw';
const COMPTAGES = fixture('real', 'comptages-routiers-permanents', 'louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv');

describe('ingest in S3 mode', () => {
  let f: S3ServiceFixture;

  beforeAll(async () => {
    f = await startS3ServiceFixture({
      label: 'ingestor-s3',
      bucket: BUCKET,
      prefix: PREFIX,
      objects: {
        'batch/comptages-washington.csv': fs.readFileSync(COMPTAGES),
        [`api/bikes/dt=${DAY}/hour=02/counts.json`]: '[]',
        [`api/bikes/dt=${DAY}/hour=03/counts.json`]: '[]',
      },
      env: { MAX_FILE_SIZE_MB: '0.1' },
    });
  });

  afterAll(async () => {
    await f?.close();
  });

  it('discovers the day in S3 and puts the S3 location and ETags in the run', async () => {
    const store = new FsStore(f.config.outputDir);
    const ingestor = new IngestorService(f.config, store, f.log, f.rawSources, f.queue(QueueName.Ingest));
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
      const [chunkJob] = await f.queue(QueueName.Chunk).getJobs(['waiting', 'waiting-children', 'delayed', 'prioritized']);
      const data = ChunkFile.parse(chunkJob.data);
      expect(data.rawDir).toBe(`s3://${BUCKET}/${PREFIX}`);
      expect(data.file.version).toMatch(/^"[0-9a-f]{32}"$/);
    } finally {
      await ingestor.onModuleDestroy();
    }
  });
});
