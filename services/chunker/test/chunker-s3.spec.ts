/**
 * In S3 mode the chunker plans a large CSV from its object (one streamed GET): the chunks carry
 * `s3://bucket/prefix` and the ETag version, and their ranges are exactly those of the same file
 * on disk. A file replaced after discovery is refused before any chunk is added.
 */
import * as fs from 'node:fs';
import { Job } from 'bullmq';
import { ChunkFile, JobData, ProcessChunk, QueueName } from '@cityflow/contracts';
import { planChunks, SourceChangedError } from '@cityflow/domain';
import { fixture, putObjects, S3ServiceFixture, startS3ServiceFixture } from '@cityflow/testing';
import { ChunkerService } from '../src/chunker.service';

const DAY = '2024-10-15';
const BUCKET = 'raw-chunker';
const PREFIX = 'raw';
const COMPTAGES = fixture('real', 'comptages-routiers-permanents', 'louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv');

describe('chunk planning in S3 mode', () => {
  let f: S3ServiceFixture;

  beforeAll(async () => {
    f = await startS3ServiceFixture({
      label: 'chunker-s3',
      bucket: BUCKET,
      prefix: PREFIX,
      objects: {
        'batch/comptages-washington.csv': fs.readFileSync(COMPTAGES),
        [`api/bikes/dt=${DAY}/hour=02/counts.json`]: '[]',
        [`api/bikes/dt=${DAY}/hour=03/counts.json`]: '[]',
      },
      env: { MAX_FILE_SIZE_MB: '0.1', EC2_CHUNK_SIZE: '250' },
    });
  });

  afterAll(async () => {
    await f?.close();
  });

  it('plans a large CSV from S3 into the ranges of the same file on disk', async () => {
    const [file] = (await f.rawSources.configured.discover(DAY)).filter((r) => r.source === 'comptages');
    const data: JobData<typeof ChunkFile> = ChunkFile.parse({ schemaVersion: 1, runId: 'run-s3-chunk', rawDir: `s3://${BUCKET}/${PREFIX}`, file, fileIndex: 0 });
    const chunkQueue = f.queue(QueueName.Chunk);
    const processQueue = f.queue(QueueName.Process);
    const parent = (await chunkQueue.add(ChunkFile.name, data, { jobId: 'run-s3-chunk-f0' })) as Job;

    const chunker = new ChunkerService(f.config, f.log, f.rawSources, processQueue);
    const count = await chunker.addChunks(parent, data);

    const expected = await planChunks(COMPTAGES, f.config.chunkRows);
    expect(count).toBe(expected.ranges.length);
    const children = (await processQueue.getJobs(['waiting', 'prioritized', 'delayed']))
      .map((j) => ProcessChunk.parse(j.data))
      .filter((c) => c.runId === data.runId)
      .sort((a, b) => a.range.index - b.range.index);
    expect(children.map((c) => c.range)).toEqual(expected.ranges.map(({ index, start, end, firstLine }) => ({ index, start, end, firstLine })));
    expect(children.every((c) => c.rawDir === `s3://${BUCKET}/${PREFIX}` && c.file.version === file.version)).toBe(true);

    // Replaced after discovery: refused at open, before any chunk is added.
    await putObjects(f.client, BUCKET, { [`${PREFIX}/${file.relPath}`]: 'Identifiant arc;Libelle\n1;x\n' });
    const again = ChunkFile.parse({ ...data, runId: 'run-s3-chunk-2' });
    const before = await processQueue.count();
    await expect(chunker.addChunks(parent, again)).rejects.toThrow(SourceChangedError);
    expect(await processQueue.count()).toBe(before);
  });
});
