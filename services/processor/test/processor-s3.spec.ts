/**
 * The processor reads its job's range through the raw source named by the job's `rawDir`: the
 * same jobs over a local folder and over s3rver write identical partials and summaries, for
 * block-scanned CSV ranges (comptages) and whole files (weather JSON, read through the cache).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { JobData, ProcessChunk } from '@cityflow/contracts';
import { createLogger, createRawSources, FsStore, loadConfig, RawSources, s3RawLocation } from '@cityflow/common';
import { ChunkRange, FileRef, LocalRawSource, planChunks, SourceChangedError } from '@cityflow/domain';
import { createBucket, fixture, putObjects, RunningS3rver, s3rverClient, s3rverEnv, startS3rver, uploadTree, useS3rverCredentials } from '@cityflow/testing';
import { ProcessorService } from '../src/processor.service';

const DAY = '2024-10-15';
const BUCKET = 'raw-processor';
const PREFIX = 'cityflow-raw/raw';
const log = createLogger({ logLevel: 'silent', logPretty: false, serviceName: 'processor-test' });

function tmp(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cityflow-${label}-`));
}

function rawTree(): string {
  const root = tmp('processor-raw');
  const files: Record<string, string> = {
    'batch/comptages-washington.csv': fixture('real', 'comptages-routiers-permanents', 'louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv'),
    [`api/weather/dt=${DAY}/hour=06/weather.json`]: fixture('built', 'weather', 'visual-crossing_timeline_paris_2024-07-18_to_2024-07-24.json'),
  };
  for (const [rel, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.copyFileSync(src, path.join(root, rel));
  }
  return root;
}

/** What a processor wrote for a file: partials (by chunk and day) and summaries, file keys left out. */
function written(store: FsStore): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else out[path.relative(store.root, full).replace(/(comptages|weather)-[0-9a-f]{20}/g, '<fileKey>')] = fs.readFileSync(full, 'utf8').replace(/(comptages|weather)-[0-9a-f]{20}/g, '<fileKey>');
    }
  };
  walk(store.root);
  return out;
}

describe('processor over local and S3 raw files', () => {
  let s3: RunningS3rver;
  let client: S3Client;
  let localRoot: string;
  let rawSources: RawSources;
  let cacheDir: string;
  let restoreCredentials: () => void;

  beforeAll(async () => {
    restoreCredentials = useS3rverCredentials();
    localRoot = rawTree();
    s3 = await startS3rver();
    client = s3rverClient(s3.endpoint);
    await createBucket(client, BUCKET);
    await uploadTree(client, localRoot, BUCKET, PREFIX);
    const cwd = tmp('processor-config');
    cacheDir = path.join(cwd, 'cache');
    // MAX_FILE_SIZE_MB 0.1: the weather file is read whole (through the cache), comptages in ranges.
    rawSources = createRawSources(loadConfig({ ...s3rverEnv(s3.endpoint, { bucket: BUCKET, prefix: PREFIX }), S3_CACHE_DIR: cacheDir, MAX_FILE_SIZE_MB: '0.1' }, cwd), log);
  });

  afterAll(async () => {
    rawSources?.destroy();
    client?.destroy();
    await s3?.stop();
    restoreCredentials?.();
  });

  async function processAll(rawDir: string, refs: FileRef[], plans: Map<string, { header: string; ranges: ChunkRange[] }>): Promise<FsStore> {
    const store = new FsStore(tmp('processor-out'));
    const service = new ProcessorService(store, log, rawSources);
    for (const file of refs) {
      const plan = plans.get(file.relPath);
      const ranges = plan ? plan.ranges : [{ index: 0, start: 0, end: file.size }];
      for (const range of ranges) {
        const data: JobData<typeof ProcessChunk> = ProcessChunk.parse({
          schemaVersion: 1,
          runId: 'run-processor-s3',
          rawDir,
          file,
          range: { index: range.index, start: range.start, end: range.end, ...('firstLine' in range ? { firstLine: range.firstLine } : {}) },
          ...(range.index > 0 && plan ? { header: plan.header } : {}),
        });
        const summary = await service.processChunk(data);
        expect(summary.cached).toBe(false);
      }
    }
    return store;
  }

  it('writes identical partials and summaries from either source', async () => {
    const s3Dir = s3RawLocation(BUCKET, PREFIX);
    const localRefs = await new LocalRawSource(localRoot).discover(DAY);
    const s3Refs = await rawSources.forLocation(s3Dir).discover(DAY);
    expect(s3Refs.map((r) => r.relPath)).toEqual(localRefs.map((r) => r.relPath));
    expect(s3Refs.map((r) => r.relPath)).toEqual(['api/weather/dt=2024-10-15/hour=06/weather.json', 'batch/comptages-washington.csv']);

    const comptages = localRefs.find((r) => r.source === 'comptages')!;
    const plan = await planChunks(path.join(localRoot, comptages.relPath), 300);
    expect(plan.ranges.length).toBeGreaterThan(3);
    const plans = new Map([[comptages.relPath, plan]]);

    const fromDisk = written(await processAll(localRoot, localRefs, plans));
    const fromS3 = written(await processAll(s3Dir, s3Refs, plans));
    expect(Object.keys(fromDisk).length).toBeGreaterThan(plan.ranges.length);
    expect(fromS3).toEqual(fromDisk);

    // The whole weather file came through the cache; no comptages range was downloaded whole.
    const cached = fs.readdirSync(cacheDir).flatMap((d) => fs.readdirSync(path.join(cacheDir, d)).map((f) => path.join(cacheDir, d, f)));
    expect(cached.map((f) => fs.readFileSync(f, 'utf8'))).toEqual([fs.readFileSync(path.join(localRoot, 'api/weather/dt=2024-10-15/hour=06/weather.json'), 'utf8')]);
  });

  it('fails a chunk whose object was replaced after discovery', async () => {
    const s3Dir = s3RawLocation(BUCKET, PREFIX);
    const [weather] = await rawSources.forLocation(s3Dir).discover(DAY);
    await putObjects(client, BUCKET, { [`${PREFIX}/${weather.relPath}`]: '{"days": []}' });
    const service = new ProcessorService(new FsStore(tmp('processor-out')), log, rawSources);
    const data = ProcessChunk.parse({ schemaVersion: 1, runId: 'run-processor-s3', rawDir: s3Dir, file: weather, range: { index: 0, start: 0, end: weather.size } });
    await expect(service.processChunk(data)).rejects.toThrow(SourceChangedError);
  });
});
