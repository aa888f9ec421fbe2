/**
 * A body that stops mid-stream (a proxy passes half of the range, then nothing, connection left
 * open): the read's idle timeout fires, the stalled connection is closed, the rest of the range
 * is requested again, and the bytes are those of a clean read. A body that never sends anything
 * fails the read with S3ReadTimeoutError after S3_READ_ATTEMPTS attempts. Either way no
 * connection is left behind.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { createRawSources, RawSources, S3ReadTimeoutError } from '@cityflow/common';
import { FileRef, planChunks, readFileRange, RawSource } from '@cityflow/domain';
import { createBucket, putObjects, RunningS3rver, s3rverClient, startS3rver, startStallProxy, StallProxy, useS3rverCredentials } from '@cityflow/testing';
import { s3ModeConfig } from './raw-helpers';

const DAY = '2025-02-04';
const BUCKET = 'raw-stall';
const RELPATH = 'batch/comptages-stall.csv';
const READ_TIMEOUT_MS = 200;
const ATTEMPTS = 3;

function csv(rows: number): Buffer {
  const lines = ['Identifiant arc;Libelle;Date et heure de comptage;Débit horaire'];
  for (let i = 0; i < rows; i++) lines.push(`${4000 + (i % 9)};Rue_${i};2024-10-01T${String(i % 24).padStart(2, '0')}:00:00+02:00;${i}`);
  return Buffer.from(lines.join('\n') + '\n');
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('S3 body stalls', () => {
  let s3: RunningS3rver;
  let proxy: StallProxy;
  let admin: S3Client;
  let sources: RawSources;
  let source: RawSource;
  let ref: FileRef;
  let restoreCredentials: () => void;
  const content = csv(20_000);

  beforeAll(async () => {
    restoreCredentials = useS3rverCredentials();
    s3 = await startS3rver();
    admin = s3rverClient(s3.endpoint);
    await createBucket(admin, BUCKET);
    await putObjects(admin, BUCKET, { [`raw/${RELPATH}`]: content });
    proxy = await startStallProxy({ host: '127.0.0.1', port: s3.port });
  });

  beforeEach(async () => {
    sources = createRawSources(s3ModeConfig(proxy.endpoint, BUCKET, 'raw', { S3_READ_TIMEOUT_MS: String(READ_TIMEOUT_MS), S3_READ_ATTEMPTS: String(ATTEMPTS) }));
    source = sources.configured;
    [ref] = await source.discover(DAY);
  });

  afterEach(async () => {
    sources.destroy();
    await until(() => proxy.openConnections() === 0);
    expect(proxy.openConnections()).toBe(0);
  });

  afterAll(async () => {
    admin?.destroy();
    await proxy?.close();
    await s3?.stop();
    restoreCredentials?.();
  });

  it('times out a body stalled at 50 %, closes its connection and reads the rest again', async () => {
    const range = { start: 1000, end: content.length - 1000 };
    const clean = await readFileRange(await source.open(ref, { range }), range.start, range.end);
    expect(clean.equals(content.subarray(range.start, range.end))).toBe(true);
    const baseline = proxy.openConnections(); // idle keep-alive connections

    const half = Math.floor((range.end - range.start) / 2);
    proxy.stall({ match: (head) => head.startsWith('GET ') && head.includes(`bytes=${range.start}-`), afterBodyBytes: half });
    const started = Date.now();
    const stalled = await readFileRange(await source.open(ref, { range }), range.start, range.end);
    const elapsed = Date.now() - started;

    expect(stalled.equals(clean)).toBe(true);
    expect(proxy.stalledResponses()).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(READ_TIMEOUT_MS);
    expect(elapsed).toBeLessThan(READ_TIMEOUT_MS + 3000);
    await until(() => proxy.closedStalledConnections() === 1 && proxy.openConnections() <= baseline);
    expect(proxy.closedStalledConnections()).toBe(1); // destroyed by the reader, not left to leak
    expect(proxy.openConnections()).toBeLessThanOrEqual(baseline);
  });

  it('survives stalls while the chunk planner streams the whole file', async () => {
    const expected = await planChunks(await source.open(ref), 1000);
    const before = proxy.stalledResponses();
    proxy.stall({ match: (head) => head.startsWith('GET '), afterBodyBytes: 100_000, times: 2 });
    const planned = await planChunks(await source.open(ref), 1000, { bufferSize: 64 * 1024 });
    expect(planned).toEqual(expected);
    expect(proxy.stalledResponses() - before).toBe(2);
  });

  it('fails with S3ReadTimeoutError when every attempt stalls', async () => {
    const before = proxy.stalledResponses();
    proxy.stall({ match: (head) => head.startsWith('GET '), afterBodyBytes: 0, times: ATTEMPTS });
    const started = Date.now();
    const err = await readFileRange(await source.open(ref, { range: { start: 0, end: 5000 } }), 0, 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3ReadTimeoutError);
    expect((err as Error).message).toMatch(new RegExp(`s3://${BUCKET}/raw/${RELPATH}: no data for ${READ_TIMEOUT_MS} ms at byte 0 \\(${ATTEMPTS} attempts\\)`));
    expect(proxy.stalledResponses() - before).toBe(ATTEMPTS);
    expect(Date.now() - started).toBeGreaterThanOrEqual(ATTEMPTS * READ_TIMEOUT_MS);
    await until(() => proxy.closedStalledConnections() === proxy.stalledResponses());
    expect(proxy.closedStalledConnections()).toBe(proxy.stalledResponses());
  });
});
