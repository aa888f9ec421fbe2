/**
 * Discovery under an S3 prefix finds exactly what local discovery finds in the same tree: both
 * layouts, every hour, the bike counters' next day, every batch match; more than 1,000 objects in
 * one listing (continuation tokens); same-named files in different hour folders kept apart.
 */
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRawSources, RawSources, S3RequestError } from '@cityflow/common';
import { classifyRawPath, discoverRawFiles, FileRef, RawDirError } from '@cityflow/domain';
import { createBucket, RunningS3rver, s3rverClient, startS3rver, uploadTree, useS3rverCredentials } from '@cityflow/testing';
import { s3ModeConfig, writeTree } from './raw-helpers';

const DAY = '2025-02-04';
const BUCKET = 'raw-discovery';
const PREFIX = 'cityflow-raw/raw';

/** 1,104 hourly files in one day folder (46 per hour, the same names in every hour), plus every rule's cases. */
function rawTree(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let h = 0; h < 24; h++) {
    for (let i = 0; i < 46; i++) files[`api/traffic/dt=${DAY}/hour=${String(h).padStart(2, '0')}/data-${i}.json`] = `{"h":${h},"i":${i}}`;
  }
  const cases = [
    `api/bikes/dt=${DAY}/hour=02/a.json`,
    `api/bikes/dt=${DAY}/hour=23/a.json`,
    `api/bikes/${DAY}/stream-data-1-ab.jsonl`,
    'api/bikes/dt=2025-02-05/hour=00/next.json',
    'api/bikes/2025-02-05/stream-next.jsonl',
    'api/bikes/dt=2025-02-06/hour=00/later.json',
    `api/bikes/dt=${DAY}/hour=05/export.csv`,
    `api/weather/dt=${DAY}/hour=06/vc.json`,
    'api/weather/dt=2025-02-05/hour=06/vc.json',
    `api/traffic/${DAY}/stream.jsonl`,
    `api/velib/dt=${DAY}/hour=08/station_status.json`,
    `api/velib/dt=${DAY}/hour=08/.hidden.json`,
    `api/velib/dt=${DAY}/hour=08/notes.txt`,
    `api/unknown/dt=${DAY}/x.json`,
    'batch/comptages-routiers-permanents.csv',
    'batch/2024/comptages-2.csv',
    'batch/chantiers-perturbants.csv',
    'batch/referentiel-comptages-routiers.csv',
    'batch/other.csv',
    'elsewhere/comptages.csv',
  ];
  for (const f of cases) files[f] = `content of ${f}`;
  return files;
}

const withoutVersion = (refs: FileRef[]) => refs.map(({ source, relPath, size }) => ({ source, relPath, size }));

describe('S3 raw discovery', () => {
  let s3: RunningS3rver;
  let client: S3Client;
  let localRoot: string;
  let sources: RawSources;
  let restoreCredentials: () => void;

  beforeAll(async () => {
    restoreCredentials = useS3rverCredentials();
    s3 = await startS3rver();
    client = s3rverClient(s3.endpoint);
    localRoot = writeTree(rawTree());
    await createBucket(client, BUCKET);
    await uploadTree(client, localRoot, BUCKET, PREFIX, 24);
    sources = createRawSources(s3ModeConfig(s3.endpoint, BUCKET, PREFIX));
  }, 120_000);

  afterAll(async () => {
    sources?.destroy();
    client?.destroy();
    await s3?.stop();
    restoreCredentials?.();
  });

  it('finds the same files as local discovery, more than 1,000 of them, with ETags as versions', async () => {
    // One folder alone holds more than a listing page.
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/api/traffic/dt=${DAY}/` }));
    expect(page.IsTruncated).toBe(true);

    const local = discoverRawFiles(localRoot, DAY);
    const remote = await sources.configured.discover(DAY);
    expect(remote.length).toBeGreaterThan(1100);
    expect(withoutVersion(remote)).toEqual(withoutVersion(local));

    // Same base name in two hour folders: two files.
    expect(remote.filter((r) => r.relPath.endsWith('/data-0.json'))).toHaveLength(24);
    expect(remote.filter((r) => r.relPath.endsWith('/a.json')).map((r) => r.relPath)).toEqual([`api/bikes/dt=${DAY}/hour=02/a.json`, `api/bikes/dt=${DAY}/hour=23/a.json`]);
    // Bike counters also read the next day's folders (both layouts); weather does not.
    expect(remote.map((r) => r.relPath)).toEqual(expect.arrayContaining(['api/bikes/dt=2025-02-05/hour=00/next.json', 'api/bikes/2025-02-05/stream-next.jsonl']));
    expect(remote.map((r) => r.relPath)).not.toContain('api/weather/dt=2025-02-05/hour=06/vc.json');
    expect(remote.filter((r) => r.source === 'comptages').map((r) => r.relPath)).toEqual(['batch/2024/comptages-2.csv', 'batch/comptages-routiers-permanents.csv']);

    // Versions are the objects' ETags; keys change with them.
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/batch/chantiers` }));
    const chantiers = remote.find((r) => r.source === 'chantiers')!;
    expect(chantiers.version).toBe(listed.Contents![0].ETag);
    expect(chantiers.fileKey).toMatch(/^chantiers-[0-9a-f]{20}$/);
  });

  it('gives a rewritten object a new version and a new file key', async () => {
    const relPath = 'batch/chantiers-perturbants.csv';
    const before = (await sources.configured.discover(DAY)).find((r) => r.relPath === relPath)!;
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/${relPath}`, Body: 'a new export' }));
    const after = (await sources.configured.discover(DAY)).find((r) => r.relPath === relPath)!;
    expect(after.version).not.toBe(before.version);
    expect(after.fileKey).not.toBe(before.fileKey);
    expect(after.size).toBe('a new export'.length);
  });

  it('classifies relative paths the same way for both sources', () => {
    expect(classifyRawPath(`api/bikes/dt=${DAY}/hour=02/x.json`, DAY)).toBe('bikes');
    expect(classifyRawPath(`api/bikes/dt=${DAY}/hour=02/`, DAY)).toBeNull(); // folder marker
    expect(classifyRawPath(`api/bikes/dt=${DAY}//x.json`, DAY)).toBeNull();
    expect(classifyRawPath(`api/bikes/dt=${DAY}/../x.json`, DAY)).toBeNull();
    expect(classifyRawPath('batch/sub/Referentiel-2024.CSV', DAY)).toBe('referentiel');
  });

  it('refuses a missing bucket, an empty prefix and an unreachable endpoint with clear errors', async () => {
    const missingBucket = createRawSources(s3ModeConfig(s3.endpoint, 'no-such-bucket', PREFIX));
    await expect(missingBucket.configured.discover(DAY)).rejects.toThrow(RawDirError);
    await expect(missingBucket.configured.discover(DAY)).rejects.toThrow(/raw bucket not found: s3:\/\/no-such-bucket/);

    const emptyPrefix = createRawSources(s3ModeConfig(s3.endpoint, BUCKET, 'not/there'));
    await expect(emptyPrefix.configured.discover(DAY)).rejects.toThrow(/raw location not found: nothing under s3:\/\/raw-discovery\/not\/there/);

    // A day without API files is not an error: only the batch exports feed it.
    expect((await sources.configured.discover('2024-01-01')).map((r) => r.relPath.split('/')[0])).toEqual(['batch', 'batch', 'batch', 'batch']);

    const unreachable = createRawSources(s3ModeConfig('http://127.0.0.1:9', BUCKET, PREFIX));
    const err = await unreachable.configured.discover(DAY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3RequestError);
    expect((err as Error).message).toMatch(/http:\/\/127\.0\.0\.1:9/);
    for (const s of [missingBucket, emptyPrefix, unreachable]) s.destroy();
  }, 60_000);

  it('reads an s3:// location only in S3 mode, and never falls back to local files', async () => {
    const localMode = createRawSources({ ...s3ModeConfig(s3.endpoint, BUCKET, PREFIX), rawSource: 'local', rawDir: localRoot });
    expect(() => localMode.forLocation(`s3://${BUCKET}/${PREFIX}`)).toThrow(RawDirError);
    expect(() => localMode.forLocation(`s3://${BUCKET}/${PREFIX}`)).toThrow(/set USE_S3=true/);
    expect((await localMode.configured.discover(DAY)).length).toBe(discoverRawFiles(localRoot, DAY).length);

    // Removing the objects does not make S3 mode read anything else.
    const bucket = 'raw-emptied';
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'raw/batch/comptages.csv', Body: 'h\n1\n' }));
    const emptied = createRawSources(s3ModeConfig(s3.endpoint, bucket, 'raw'));
    expect((await emptied.configured.discover(DAY)).map((r) => r.relPath)).toEqual(['batch/comptages.csv']);
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'raw/batch/comptages.csv' }));
    await expect(emptied.configured.discover(DAY)).rejects.toThrow(RawDirError);
    emptied.destroy();
  });
});
