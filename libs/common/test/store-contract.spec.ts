/**
 * One contract for every Store backend: FsStore (temporary folder), DynamoDbStore (dynalite behind
 * a proxy that reverses the key order of every map it returns, as DynamoDB promises no order) and
 * MongoStore (a real server, only when MONGODB_URL is set). A backend passes when every document
 * reads back deep-equal to what was put AND with the same JSON text (key order included): the API
 * answers the same bytes whatever the backend.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';
import { DocumentTooLargeError, DynamoDbStore, FsStore, MongoStore, RunRecord, Store, UnstorableValueError } from '@cityflow/common';
import { DynamoFaultProxy, RunningDynalite, startDynalite, startDynamoFaultProxy } from '@cityflow/testing';
import { largeComptagesDay, realExportComptagesDay, SAMPLE_DAY, SampleDocs, sampleDocs, sampleMetrics } from './store-fixtures';

// Emulators accept any credentials; the SDK's default chain reads these.
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

const MONGODB_URL = process.env.MONGODB_URL;
if (!MONGODB_URL) console.log('MongoDB store tests skipped: MONGODB_URL is not set');

interface Opened {
  store: Store;
  dispose(): Promise<void>;
}
interface Backend {
  name: string;
  skip: boolean;
  /** Largest single value the backend can store (an entry cannot be split further); Infinity for files. */
  maxEntryBytes: number;
  open(): Promise<Opened>;
}

let dynalite: RunningDynalite | undefined;
let proxy: DynamoFaultProxy | undefined;
let docs: SampleDocs;
let seq = 0;
const unique = () => `${process.pid}-${Date.now().toString(36)}-${seq++}`;

const backends: Backend[] = [
  {
    name: 'filesystem',
    skip: false,
    maxEntryBytes: Infinity,
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-store-'));
      return { store: new FsStore(dir), dispose: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'dynamodb',
    skip: false,
    maxEntryBytes: 350 * 1024,
    async open() {
      const id = unique();
      const store = new DynamoDbStore({
        region: 'eu-west-3',
        endpoint: proxy!.endpoint,
        metricsTable: `metrics-${id}`,
        reportsTable: `reports-${id}`,
        maxAttempts: 8,
        retryBaseMs: 10,
        createResources: true,
      });
      await store.init();
      return { store, dispose: () => store.close() };
    },
  },
  {
    name: 'mongodb',
    skip: !MONGODB_URL,
    maxEntryBytes: 12 * 1024 * 1024,
    async open() {
      const database = `cityflow_test_${unique().replace(/-/g, '_')}`;
      const store = new MongoStore({ url: MONGODB_URL!, database, createResources: true });
      await store.init();
      return {
        store,
        async dispose() {
          await store.close();
          const admin = new MongoClient(MONGODB_URL!, { serverSelectionTimeoutMS: 5000 });
          try {
            await admin.db(database).dropDatabase();
          } finally {
            await admin.close();
          }
        },
      };
    },
  },
];

beforeAll(async () => {
  dynalite = await startDynalite();
  proxy = await startDynamoFaultProxy(dynalite.endpoint, { reverseMapKeys: true });
  docs = await sampleDocs();
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await dynalite?.stop();
});

/** Deep-equal and the same JSON text (key order, -0 written as 0). */
function expectSameDocument(actual: unknown, expected: unknown): void {
  expect(actual).toEqual(JSON.parse(JSON.stringify(expected)));
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
}

/** Bytes that do not compress or repeat (an LCG), so a store cannot pass by accident. */
function noise(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function run(runId: string, createdAt: string, extra: Partial<RunRecord> = {}): RunRecord {
  return { runId, date: SAMPLE_DAY, status: 'completed', createdAt, updatedAt: createdAt, rawDir: '/data/raw', ...extra };
}

for (const backend of backends) {
  (backend.skip ? describe.skip : describe)(`Store contract: ${backend.name}`, () => {
    let opened: Opened;
    let store: Store;
    beforeAll(async () => {
      opened = await backend.open();
      store = opened.store;
    }, 60_000);
    afterAll(() => opened?.dispose());

    it('round-trips every metric document of a real day (all sources), byte for byte', async () => {
      expect(new Set(docs.metrics.map((m) => m.type)).size).toBeGreaterThanOrEqual(7);
      for (const m of docs.metrics) await store.putMetrics(m.type, m.day, m.doc);
      for (const m of docs.metrics) expectSameDocument(await store.getMetrics(m.type, m.day), m.doc);
    });

    it('round-trips a full-size comptages day (3,600 arcs, over 2 MB of JSON)', async () => {
      const big = largeComptagesDay(docs);
      expect(big.metrics.length).toBeGreaterThanOrEqual(3500);
      expect(JSON.stringify(big).length).toBeGreaterThan(2 * 1024 * 1024);
      await store.putMetrics('comptages', '2030-01-01', big);
      expectSameDocument(await store.getMetrics('comptages', '2030-01-01'), big);
    });

    it('round-trips the référentiel (an object of ~3,300 arcs) and a day from a real export', async () => {
      const ref = sampleMetrics(docs, 'referentiel') as { mapping: Record<string, unknown> };
      expect(Object.keys(ref.mapping).length).toBeGreaterThan(3000);
      await store.putMetrics('referentiel', '2030-01-02', ref);
      expectSameDocument(await store.getMetrics('referentiel', '2030-01-02'), ref);
      const real = realExportComptagesDay();
      await store.putMetrics('comptages', '2022-12-05', real);
      expectSameDocument(await store.getMetrics('comptages', '2022-12-05'), real);
    });

    it('an overwrite reads back the new document whole, larger or smaller (no stale parts)', async () => {
      const big = largeComptagesDay(docs);
      const small = sampleMetrics(docs, 'comptages');
      const tiny = { date: '2030-01-03', metrics: [] };
      await store.putMetrics('comptages', '2030-01-03', big);
      await store.putMetrics('comptages', '2030-01-03', small);
      expectSameDocument(await store.getMetrics('comptages', '2030-01-03'), small);
      await store.putMetrics('comptages', '2030-01-03', tiny);
      expectSameDocument(await store.getMetrics('comptages', '2030-01-03'), tiny);
      const bigger = largeComptagesDay(docs, 4000);
      await store.putMetrics('comptages', '2030-01-03', bigger);
      expectSameDocument(await store.getMetrics('comptages', '2030-01-03'), bigger);
    });

    it('a put of the same content again changes nothing', async () => {
      const doc = sampleMetrics(docs, 'bikes');
      await store.putMetrics('bikes', '2030-01-04', doc);
      await store.putMetrics('bikes', '2030-01-04', doc);
      expectSameDocument(await store.getMetrics('bikes', '2030-01-04'), doc);
    });

    it('reports: JSON and CSV round trip, overwrite, absent day', async () => {
      await store.putReport(SAMPLE_DAY, docs.report, docs.csv);
      expectSameDocument(await store.getReport(SAMPLE_DAY), docs.report);
      expect(await store.getReportCsv(SAMPLE_DAY)).toBe(docs.csv);
      const changed = { ...(docs.report as Record<string, unknown>), generated_at: '2025-02-06T02:00:00+01:00' };
      await store.putReport(SAMPLE_DAY, changed, `${docs.csv}# autre\r\n`);
      expectSameDocument(await store.getReport(SAMPLE_DAY), changed);
      expect(await store.getReportCsv(SAMPLE_DAY)).toBe(`${docs.csv}# autre\r\n`);
      expect(await store.getReport('1999-01-01')).toBeNull();
      expect(await store.getReportCsv('1999-01-01')).toBeNull();
    });

    it('partials: 0 bytes, 1 byte, 1.3 MB, the real ones (up to 1.1 MB), overwrite, absent', async () => {
      const key = { source: 'comptages', fileKey: 'comptages-synthetic', chunkIndex: 3 };
      const cases: [string, Buffer][] = [
        ['2030-02-01', Buffer.alloc(0)],
        ['2030-02-02', Buffer.from([7])],
        ['2030-02-03', noise(1.3 * 1024 * 1024)],
        ['*', noise(1000, 9)],
      ];
      for (const [day, bytes] of cases) await store.putPartial(key, day, bytes);
      for (const [day, bytes] of cases) expect((await store.getPartial(key, day))?.equals(bytes)).toBe(true);
      for (const p of docs.partials) await store.putPartial(p.key, p.day, p.bytes);
      expect(Math.max(...docs.partials.map((p) => p.bytes.length))).toBeGreaterThan(1024 * 1024);
      for (const p of docs.partials) expect((await store.getPartial(p.key, p.day))?.equals(p.bytes)).toBe(true);
      await store.putPartial(key, '2030-02-03', Buffer.from('x'));
      expect((await store.getPartial(key, '2030-02-03'))?.toString()).toBe('x');
      expect(await store.getPartial(key, '2030-02-09')).toBeNull();
      expect(await store.getPartial({ ...key, chunkIndex: 99 }, '2030-02-01')).toBeNull();
    });

    it('chunk summaries round trip; absent is null', async () => {
      for (const s of docs.summaries) await store.putChunkSummary(s.key, s.summary);
      for (const s of docs.summaries) expectSameDocument(await store.getChunkSummary(s.key), s.summary);
      expect(await store.getChunkSummary({ source: 'bikes', fileKey: 'nope', chunkIndex: 0 })).toBeNull();
    });

    it('runs: get, then listRuns newest first with FsStore semantics (default 50, limit)', async () => {
      const fresh = await backend.open();
      try {
        const s = fresh.store;
        const runs: RunRecord[] = [];
        for (let i = 0; i < 55; i++) {
          const createdAt = new Date(Date.UTC(2025, 1, 4, 0, 0, i * 7)).toISOString();
          runs.push(run(`2025-02-04-r${String(i).padStart(3, '0')}`, createdAt, i % 5 === 0 ? { status: 'failed', error: 'raison' } : {}));
        }
        runs[10] = run(runs[10].runId, runs[10].createdAt, {
          files: [{ fileIndex: 0, source: 'comptages', relPath: 'batch/comptages.csv', size: 10, chunked: true, fileKey: 'comptages-x' }],
          result: { complete: true, metricsWritten: 3, missing: [], failedFiles: [] },
        });
        // Stored in a shuffled order: the order must come from createdAt.
        for (const i of [...runs.keys()].sort((a, b) => ((a * 37) % 55) - ((b * 37) % 55))) await s.putRun(runs[i]);
        const newestFirst = [...runs].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
        expectSameDocument(await s.listRuns(), newestFirst.slice(0, 50));
        expectSameDocument(await s.listRuns(3), newestFirst.slice(0, 3));
        expectSameDocument(await s.getRun(runs[10].runId), runs[10]);
        expect(await s.getRun('absent-run')).toBeNull();
        // A run record is rewritten as it progresses.
        const updated = { ...runs[54], status: 'completed' as const, updatedAt: '2025-02-05T00:00:00.000Z' };
        await s.putRun(updated);
        expectSameDocument(await s.getRun(updated.runId), updated);
        expectSameDocument((await s.listRuns(1))[0], updated);
      } finally {
        await fresh.dispose();
      }
    });

    it('listMetricDates ascending, per type and for all types; stats; working state never listed', async () => {
      const fresh = await backend.open();
      try {
        const s = fresh.store;
        const bikes = sampleMetrics(docs, 'bikes');
        const weather = sampleMetrics(docs, 'weather');
        for (const [type, day, doc] of [
          ['bikes', '2025-02-03', bikes],
          ['comptages', '2025-02-04', { date: '2025-02-04', metrics: [] }],
          ['bikes', '2025-01-31', bikes],
          ['weather', '2025-02-04', weather],
          ['comptages', '2024-12-31', { date: '2024-12-31', metrics: [] }],
        ] as const) {
          await s.putMetrics(type, day, doc);
        }
        await s.putPartial({ source: 'bikes', fileKey: 'bikes-1', chunkIndex: 0 }, '2025-02-05', Buffer.from('p'));
        await s.putChunkSummary({ source: 'bikes', fileKey: 'bikes-1', chunkIndex: 0 }, { days: ['2025-02-05'] });
        await s.putRun(run('2025-02-06-r1', '2025-02-06T00:00:00.000Z'));
        await s.putReport('2025-02-04', { date: '2025-02-04' }, 'a;b\r\n');
        expect(await s.listMetricDates('bikes')).toEqual(['2025-01-31', '2025-02-03']);
        expect(await s.listMetricDates('comptages')).toEqual(['2024-12-31', '2025-02-04']);
        expect(await s.listMetricDates()).toEqual(['2024-12-31', '2025-01-31', '2025-02-03', '2025-02-04']);
        expect(await s.listMetricDates('velib')).toEqual([]);
        expect(await s.listMetricDates('_run')).toEqual([]);
        expect(await s.listReportDates()).toEqual(['2025-02-04']);
        expect(await s.stats()).toEqual({ metrics_count: 5, reports_count: 1 });
      } finally {
        await fresh.dispose();
      }
    });

    it('numbers come back as the same numbers (-0 as 0); unstorable magnitudes are refused', async () => {
      const numbers = {
        sum: 0.1 + 0.2,
        small: 1e-7,
        tiny: 1e-130,
        negZero: -0,
        maxSafe: Number.MAX_SAFE_INTEGER,
        minSafe: Number.MIN_SAFE_INTEGER,
        pi: Math.PI,
        fraction: 1234.5678901234567,
        list: [0, -1.5, 2.5e-10, 123456789.12345678],
      };
      await store.putMetrics('weather', '2030-03-01', numbers);
      const back = (await store.getMetrics('weather', '2030-03-01')) as typeof numbers;
      expectSameDocument(back, numbers);
      expect(Object.is(back.negZero, 0)).toBe(true);
      expect(back.sum).toBe(0.30000000000000004);
      expect(back.maxSafe).toBe(2 ** 53 - 1);
      for (const [value, day] of [
        [5e-324, '2030-03-02'],
        [1.7976931348623157e308, '2030-03-03'],
        [2 ** 53, '2030-03-04'],
        [-(2 ** 53), '2030-03-05'],
      ] as const) {
        await expect(store.putMetrics('weather', day, { v: value })).rejects.toMatchObject({ name: 'UnstorableValueError', path: '$.v' });
        expect(await store.getMetrics('weather', day)).toBeNull();
      }
    });

    it('keys: odd names, integer-like keys, key order, empty and one-key containers', async () => {
      // Built with JSON.parse so "__proto__" is an own key, as when a document comes from JSON.
      const doc = JSON.parse(
        '{"z":1,"a":2,"10":"ten","2":"two","":"empty","$set":{"$inc":1},"a.b":2,"%":3,"%41":4,"__proto__":{"x":1},"é":"e",' +
          '"nested":{"b":1,"a":[{"y":1,"x":2},{"x":2,"y":1},{},[]]},"single":{"k":{"k":{}}},"scalars":[null,true,false,"",0]}',
      ) as Record<string, unknown>;
      const nullProto = Object.create(null) as Record<string, unknown>;
      nullProto.b = 1;
      nullProto.a = 2;
      doc.nullProto = nullProto;
      await store.putMetrics('traffic', '2030-04-01', doc);
      const back = await store.getMetrics<Record<string, unknown>>('traffic', '2030-04-01');
      expectSameDocument(back, doc);
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(Object.keys(back!)).toContain('__proto__');
    });

    it('rejects unstorable values with a named error and the JSON path, and writes nothing', async () => {
      class Point {
        constructor(readonly x: number) {}
      }
      const cases: [string, unknown, string][] = [
        ['NaN', { date: 'd', moyenne: NaN }, '$.moyenne'],
        ['Infinity', { list: [1, Infinity] }, '$.list[1]'],
        ['-Infinity', { a: { b: -Infinity } }, '$.a.b'],
        ['integer > 2^53', { total: 2 ** 53 + 2 }, '$.total'],
        ['undefined in an object', { libelle: undefined }, '$.libelle'],
        ['undefined in an array', { l: [1, undefined] }, '$.l[1]'],
        ['Date', { when: new Date(0) }, '$.when'],
        ['class instance', { p: new Point(1) }, '$.p'],
        ['Map', { m: new Map() }, '$.m'],
        ['function', { f: () => 1 }, '$.f'],
        ['bigint', { n: BigInt(1) }, '$.n'],
        ['symbol', { s: Symbol('s') }, '$.s'],
        ['lone surrogate', { 'odd key': 'a\uD800b' }, '$["odd key"]'],
      ];
      for (const [i, [what, doc, at]] of cases.entries()) {
        const day = `2030-05-${String(i + 1).padStart(2, '0')}`;
        const err = await store.putMetrics('chantiers', day, doc).then(
          () => null,
          (e: unknown) => e,
        );
        expect({ what, err }).toMatchObject({ what, err: expect.any(UnstorableValueError) });
        expect({ what, name: (err as Error).name, path: (err as UnstorableValueError).path }).toEqual({ what, name: 'UnstorableValueError', path: at });
        expect(await store.getMetrics('chantiers', day)).toBeNull();
      }
      await expect(store.putRun({ ...run('r-undef', '2030-01-01T00:00:00.000Z'), error: undefined })).rejects.toMatchObject({ path: '$.error' });
      expect(await store.getRun('r-undef')).toBeNull();
      await expect(store.putChunkSummary({ source: 'bikes', fileKey: 'f', chunkIndex: 1 }, { quality: { ratio: NaN } })).rejects.toMatchObject({ path: '$.quality.ratio' });
      await expect(store.putReport('2030-05-31', { generated: new Date() }, '')).rejects.toMatchObject({ path: '$.generated' });
      expect(await store.getReport('2030-05-31')).toBeNull();
      expect(await store.getReportCsv('2030-05-31')).toBeNull();
      expect((await store.listMetricDates('chantiers')).filter((d) => d.startsWith('2030-05'))).toEqual([]);
    });

    it('a value too large for one stored item, that cannot be split, is refused before writing', async () => {
      if (!Number.isFinite(backend.maxEntryBytes)) {
        // Files have no item limit: such a document is stored like any other.
        const doc = { date: '2030-06-01', blob: 'x'.repeat(500 * 1024) };
        await store.putMetrics('velib', '2030-06-01', doc);
        expectSameDocument(await store.getMetrics('velib', '2030-06-01'), doc);
        return;
      }
      const doc = { date: '2030-06-01', list: ['small', 'y'.repeat(backend.maxEntryBytes + 1024)] };
      const err = await store.putMetrics('velib', '2030-06-01', doc).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DocumentTooLargeError);
      expect(err).toMatchObject({ name: 'DocumentTooLargeError', path: '$.list[1]' });
      expect(await store.getMetrics('velib', '2030-06-01')).toBeNull();
    }, 60_000);
  });
}
