/**
 * Reading raw files from S3 gives exactly the bytes, plans and chunk results of local reading;
 * versions are pinned by ETag (a replaced object fails with SourceChangedError, never mixes);
 * sequential reads share one GET; whole small files go through the local cache.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRawSources, RawSources, S3FileCache, S3RawSource } from '@cityflow/common';
import {
  ChunkRange,
  encodePartial,
  FileRef,
  handlerFor,
  LocalRawSource,
  planChunks,
  PlanOptions,
  RawSource,
  readFileRange,
  scanFileRange,
  SourceChangedError,
} from '@cityflow/domain';
import { createBucket, fixture, RunningS3rver, s3rverClient, startS3rver, uploadTree, useS3rverCredentials } from '@cityflow/testing';
import { readAll, s3ModeConfig, tmpDir, writeTree } from './raw-helpers';

const DAY = '2025-02-04';
const BUCKET = 'raw-read';
const PREFIX = 'raw';
const COMPTAGES_DIR = fixture('real', 'comptages-routiers-permanents');
const REAL_FILES = fs.readdirSync(COMPTAGES_DIR).sort();

/** A comptages-like export with a BOM, CRLF, quoted newlines and delimiters, multibyte text, no final newline. */
function craftedCsv(): string {
  const header = 'Identifiant arc;Libelle;Date et heure de comptage;Débit horaire;geo_shape';
  const geo = '"{""coordinates"": [[2.36979, 48.83345], [2.36927, 48.83267]], ""type"": ""LineString""}"';
  const rows: string[] = [];
  for (let i = 0; i < 400; i++) {
    const libelle = i % 7 === 0 ? `"Quai de l'Hôtel\nde Ville;${i}"` : i % 5 === 0 ? `Rue_été_${'é'.repeat(i % 13)}` : `Rue_${i}`;
    rows.push(`${4000 + (i % 3)};${libelle};2024-10-01T${String(i % 24).padStart(2, '0')}:00:00+02:00;${i * 7};${geo}`);
    if (i % 50 === 0) rows.push('');
  }
  return '\uFEFF' + [header, ...rows].map((l, i) => (i % 3 === 0 ? `${l}\r\n` : `${l}\n`)).join('').replace(/\r?\n$/, '');
}

/** Counts the GetObject requests a client sends. */
function countGets(client: S3Client): { gets: number } {
  const counter = { gets: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') counter.gets++;
      return next(args);
    },
    { step: 'initialize', name: 'countGets' },
  );
  return counter;
}

describe('S3 raw reads', () => {
  let s3: RunningS3rver;
  let client: S3Client;
  let localRoot: string;
  let local: LocalRawSource;
  let sources: RawSources;
  let remote: RawSource;
  let restoreCredentials: () => void;
  const files: Record<string, string | Buffer> = {};

  beforeAll(async () => {
    restoreCredentials = useS3rverCredentials();
    for (const name of REAL_FILES) files[`batch/comptages-${name}`] = fs.readFileSync(path.join(COMPTAGES_DIR, name));
    files['batch/comptages-crafted.csv'] = craftedCsv();
    localRoot = writeTree(files);
    local = new LocalRawSource(localRoot);
    s3 = await startS3rver();
    client = s3rverClient(s3.endpoint);
    await createBucket(client, BUCKET);
    await uploadTree(client, localRoot, BUCKET, PREFIX);
    sources = createRawSources(s3ModeConfig(s3.endpoint, BUCKET, PREFIX));
    remote = sources.configured;
  }, 60_000);

  afterAll(async () => {
    sources?.destroy();
    client?.destroy();
    await s3?.stop();
    restoreCredentials?.();
  });

  async function refsByPath(source: RawSource): Promise<Map<string, FileRef>> {
    return new Map((await source.discover(DAY)).map((r) => [r.relPath, r]));
  }

  it('plans exactly the same ranges from S3 as from the local file', async () => {
    const localRefs = await refsByPath(local);
    const remoteRefs = await refsByPath(remote);
    expect([...remoteRefs.keys()]).toEqual([...localRefs.keys()]);
    const variants: [number, PlanOptions][] = [
      [7, {}],
      [1000, {}],
      [50, { bufferSize: 4096, maxRecordBytes: 1024 }], // many reads, records cut by the buffer end
      [50, { simd: false }],
    ];
    for (const relPath of localRefs.keys()) {
      for (const [rows, opts] of variants) {
        const expected = await planChunks(await local.open(localRefs.get(relPath)!), rows, opts);
        const actual = await planChunks(await remote.open(remoteRefs.get(relPath)!), rows, opts);
        expect({ relPath, rows, opts, plan: actual }).toEqual({ relPath, rows, opts, plan: expected });
      }
    }
  });

  it('processes every chunk to identical results from S3 and from disk', async () => {
    const handler = handlerFor('comptages');
    const localRefs = await refsByPath(local);
    const remoteRefs = await refsByPath(remote);
    const run = async (source: RawSource, ref: FileRef, range: ChunkRange, header: string) => {
      let scanner;
      try {
        scanner = handler.createScanner!({ file: ref, range, header: range.index === 0 ? undefined : header });
        await scanFileRange(await source.open(ref, { range }), range, scanner, 64 * 1024);
      } catch (e) {
        return { error: `${(e as Error).name}: ${(e as Error).message}` }; // e.g. the malformed-header fixture
      }
      const out = scanner.finish();
      const partials = Object.fromEntries(Object.keys(out.partials).sort().map((day) => [day, encodePartial(handler, out.partials[day]).toString('base64')]));
      return { partials, quality: out.quality };
    };
    let chunks = 0;
    for (const relPath of localRefs.keys()) {
      const plan = await planChunks(await local.open(localRefs.get(relPath)!), 300);
      for (const range of plan.ranges) {
        const expected = await run(local, localRefs.get(relPath)!, range, plan.header);
        const actual = await run(remote, remoteRefs.get(relPath)!, range, plan.header);
        expect(actual).toEqual(expected);
        chunks++;
      }
    }
    expect(chunks).toBeGreaterThan(REAL_FILES.length);
  });

  it('reads sequentially through one GET per announced range, and anywhere on demand', async () => {
    const counting = s3rverClient(s3.endpoint);
    const gets = countGets(counting);
    const source = new S3RawSource(counting, `s3://${BUCKET}/${PREFIX}`, { endpoint: s3.endpoint, readTimeoutMs: 5000, readAttempts: 2 });
    const relPath = `batch/comptages-${REAL_FILES[REAL_FILES.length - 2]}`;
    const ref = (await source.discover(DAY)).find((r) => r.relPath === relPath)!;
    const bytes = fs.readFileSync(path.join(localRoot, relPath));

    // The planner reads the whole file in order: one GET.
    await planChunks(await source.open(ref), 100, { bufferSize: 8192, maxRecordBytes: 2048 });
    expect(gets.gets).toBe(1);

    // A range read in small blocks: one GET bounded to the range.
    gets.gets = 0;
    const range = { start: 1000, end: 150_000 };
    const got = await readFileRange(await source.open(ref, { range }), range.start, range.end);
    expect(got.equals(bytes.subarray(range.start, range.end))).toBe(true);
    expect(gets.gets).toBe(1);

    // Out-of-order reads open a new GET each time and still return the right bytes.
    gets.gets = 0;
    const reader = await source.open(ref);
    for (const pos of [5000, 100, bytes.length - 10, 5000]) {
      const buf = Buffer.alloc(10);
      let n = 0;
      while (n < buf.length) n += await reader.read(buf, n, buf.length - n, pos + n);
      expect(buf.equals(bytes.subarray(pos, pos + 10))).toBe(true);
    }
    expect(await reader.read(Buffer.alloc(4), 0, 4, bytes.length)).toBe(0);
    await reader.close();
    expect(gets.gets).toBe(4);
    counting.destroy();
  });

  it('fails with SourceChangedError when the object is replaced between chunks, or mid-read', async () => {
    const relPath = `batch/comptages-${REAL_FILES.find((f) => f.startsWith('louisgthier'))}`;
    const key = `${PREFIX}/${relPath}`;
    const ref = (await remote.discover(DAY)).find((r) => r.relPath === relPath)!;
    const plan = await planChunks(await remote.open(ref), 500);
    expect(plan.ranges.length).toBeGreaterThan(2);

    const [r0, r1] = plan.ranges;
    const first = await readFileRange(await remote.open(ref, { range: r0 }), r0.start, r0.end);
    expect(first.length).toBe(r0.end - r0.start);

    // Another export lands under the same key.
    const original = fs.readFileSync(path.join(localRoot, relPath));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.concat([original, Buffer.from('4264;x;2022-12-01T00:00:00+01:00;1;\n')]) }));
    const err = await remote.open(ref, { range: r1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceChangedError);
    expect((err as Error).message).toContain(`${relPath} changed since the run discovered it`);
    expect((err as Error).message).toContain(`the run pinned ${ref.version}`);

    // Replaced while a reader is open: its next GET sees another ETag (s3rver ignores If-Match).
    const fresh = (await remote.discover(DAY)).find((r) => r.relPath === relPath)!;
    const reader = await remote.open(fresh);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: original }));
    const midRead = await reader.read(Buffer.alloc(100), 0, 100, 0).catch((e: unknown) => e);
    await reader.close();
    expect(midRead).toBeInstanceOf(SourceChangedError);
    expect((midRead as Error).message).toMatch(/now has ETag "[0-9a-f]+", the run pinned/);
  });

  it('reads whole small files through the local cache, one copy per object', async () => {
    const cacheDir = tmpDir('s3-cache');
    const counting = s3rverClient(s3.endpoint);
    const gets = countGets(counting);
    const source = new S3RawSource(counting, `s3://${BUCKET}/${PREFIX}`, {
      endpoint: s3.endpoint,
      readTimeoutMs: 5000,
      readAttempts: 2,
      cache: new S3FileCache(cacheDir, 10 * 1024 * 1024),
      cacheMaxFileBytes: 1024 * 1024,
    });
    const relPath = 'batch/comptages-crafted.csv';
    const key = `${PREFIX}/${relPath}`;
    const ref = (await source.discover(DAY)).find((r) => r.relPath === relPath)!;
    const whole = { start: 0, end: ref.size };

    const once = await readFileRange(await source.open(ref, { range: whole }), 0, ref.size);
    const cached = new S3FileCache(cacheDir, 0).pathOf({ bucket: BUCKET, key, etag: ref.version });
    expect(fs.readFileSync(cached).equals(once)).toBe(true);
    expect(once.toString()).toBe(files[relPath]);
    const twice = await readFileRange(await source.open(ref, { range: whole }), 0, ref.size);
    expect(twice.equals(once)).toBe(true);
    expect(gets.gets).toBe(1); // the second read came from the cache

    // A range (a chunk) is never downloaded whole.
    const part = { start: 10, end: 2000 };
    await readFileRange(await source.open(ref, { range: part }), part.start, part.end);
    expect(gets.gets).toBe(2);

    // A new version replaces the old one in the cache.
    await counting.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: craftedCsv() + '\n' }));
    const next = (await source.discover(DAY)).find((r) => r.relPath === relPath)!;
    await readFileRange(await source.open(next, { range: { start: 0, end: next.size } }), 0, next.size);
    expect(fs.readdirSync(path.dirname(cached))).toEqual([path.basename(new S3FileCache(cacheDir, 0).pathOf({ bucket: BUCKET, key, etag: next.version }))]);
    counting.destroy();
  });

  it('keeps the cache under its size bound, evicting the least recently used files', async () => {
    const cacheDir = tmpDir('s3-cache-lru');
    const refs = (await remote.discover(DAY)).filter((r) => r.size > 100_000).slice(0, 3);
    expect(refs).toHaveLength(3);
    const bound = refs[0].size + refs[1].size + refs[2].size - 1; // all three do not fit
    const source = new S3RawSource(client, `s3://${BUCKET}/${PREFIX}`, {
      endpoint: s3.endpoint,
      readTimeoutMs: 5000,
      readAttempts: 2,
      cache: new S3FileCache(cacheDir, bound),
      cacheMaxFileBytes: 1024 * 1024,
    });
    const cache = new S3FileCache(cacheDir, bound);
    const pathOf = (r: FileRef) => cache.pathOf({ bucket: BUCKET, key: `${PREFIX}/${r.relPath}`, etag: r.version });
    const readWhole = async (r: FileRef) => readAll(await source.open(r, { range: { start: 0, end: r.size } }));

    await readWhole(refs[0]);
    await readWhole(refs[1]);
    // refs[0] used again: refs[1] is now the least recently used.
    fs.utimesSync(pathOf(refs[1]), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await readWhole(refs[0]);
    await readWhole(refs[2]);
    expect([fs.existsSync(pathOf(refs[0])), fs.existsSync(pathOf(refs[1])), fs.existsSync(pathOf(refs[2]))]).toEqual([true, false, true]);
  });
});
