/**
 * DynamoDbStore against dynalite (a real DynamoDB protocol server), with a fault proxy in front
 * for throttling and UnprocessedItems. Checks what the contract cannot see: item sizes and layout
 * in the tables, parts lifecycle, the write retry loop and its budget, boot-time resources and
 * the Nest wiring.
 */
import * as os from 'node:os';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import {
  AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { CoreModule, DynamoDbStore, DynamoDbStoreOptions, DynamoWriteError, InconsistentDocumentError, loadConfig, STORE, Store, StoreClosedError } from '@cityflow/common';
import { DynamoFaultProxy, RunningDynalite, startDynalite, startDynamoFaultProxy, testRedisUrl, uniquePrefix } from '@cityflow/testing';
import { largeComptagesDay, SampleDocs, sampleDocs, sampleMetrics } from './store-fixtures';

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

const KB = 1024;
let dynalite: RunningDynalite;
let proxy: DynamoFaultProxy;
let raw: DynamoDBClient;
let docs: SampleDocs;
let seq = 0;
const tableId = () => `${process.pid}-${Date.now().toString(36)}-${seq++}`;
const opened: Store[] = [];

beforeAll(async () => {
  dynalite = await startDynalite();
  proxy = await startDynamoFaultProxy(dynalite.endpoint);
  raw = new DynamoDBClient({ region: 'eu-west-3', endpoint: dynalite.endpoint });
  docs = await sampleDocs();
}, 120_000);

afterAll(async () => {
  for (const s of opened) await s.close?.();
  raw?.destroy();
  await proxy?.stop();
  await dynalite?.stop();
});

/** A store on fresh tables, with the names of its tables for raw reads. */
async function openStore(over: Partial<DynamoDbStoreOptions> = {}): Promise<{ store: DynamoDbStore; metrics: string; reports: string }> {
  const id = tableId();
  const options: DynamoDbStoreOptions = {
    region: 'eu-west-3',
    endpoint: dynalite.endpoint,
    metricsTable: `metrics-${id}`,
    reportsTable: `reports-${id}`,
    maxAttempts: 8,
    retryBaseMs: 10,
    createResources: true,
    ...over,
  };
  const store = new DynamoDbStore(options);
  await store.init();
  opened.push(store);
  return { store, metrics: options.metricsTable, reports: options.reportsTable };
}

async function scanAll(table: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await raw.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Sort keys of one partition (every page of the Query). */
async function partsOf(table: string, partition: string): Promise<string[]> {
  const keys: string[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await raw.send(
      new QueryCommand({ TableName: table, KeyConditionExpression: 'metric_type = :p', ExpressionAttributeValues: { ':p': { S: partition } }, ExclusiveStartKey: start }),
    );
    keys.push(...(out.Items ?? []).map((i) => i.date.S!));
    start = out.LastEvaluatedKey;
  } while (start);
  return keys;
}

/**
 * DynamoDB's item size, from its documentation, written here independently of the store: names
 * and strings in UTF-8 bytes, binary in bytes, a number 1 byte per two significant digits plus 1,
 * null/boolean 1 byte, a list or map 3 bytes plus 1 per element plus its elements (and map keys).
 */
function awsItemSize(item: Record<string, AttributeValue>): number {
  const size = (av: AttributeValue): number => {
    if (av.S !== undefined) return Buffer.byteLength(av.S);
    if (av.B !== undefined) return av.B.length;
    if (av.N !== undefined) return Math.ceil(av.N.replace(/^[-0.]+|[.]|e.*$/gi, '').replace(/0+$/, '').length / 2) + 1;
    if (av.NULL !== undefined || av.BOOL !== undefined) return 1;
    if (av.L) return 3 + av.L.reduce((s, v) => s + 1 + size(v), 0);
    if (av.M) return 3 + Object.entries(av.M).reduce((s, [k, v]) => s + 1 + Buffer.byteLength(k) + size(v), 0);
    throw new Error(`unexpected ${JSON.stringify(av)}`);
  };
  return Object.entries(item).reduce((s, [k, v]) => s + Buffer.byteLength(k) + size(v), 0);
}

const sameJson = (a: unknown, b: unknown) => expect(JSON.stringify(a)).toBe(JSON.stringify(b));

describe('DynamoDbStore: tables and items', () => {
  it('keeps every item under 400 KB: large documents and partials are split into parts of at most 350 KiB', async () => {
    const { store, metrics: table, reports } = await openStore();
    const big = largeComptagesDay(docs);
    await store.putMetrics('comptages', '2025-02-04', big);
    await store.putMetrics('referentiel', '2025-02-04', sampleMetrics(docs, 'referentiel'));
    for (const p of docs.partials) await store.putPartial(p.key, p.day, p.bytes);
    await store.putPartial({ source: 'velib', fileKey: 'noise', chunkIndex: 0 }, '2025-02-04', Buffer.alloc(1300 * KB, 7));
    await store.putReport('2025-02-04', docs.report, docs.csv);

    const items = [...(await scanAll(table)), ...(await scanAll(reports))];
    const sizes = items.map(awsItemSize);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(350 * KB);
    expect(Math.max(...sizes)).toBeLessThan(400 * KB);

    const partitions = new Set(items.map((i) => i.metric_type?.S ?? i.report_id?.S));
    // Internal partitions all start with "_": no metric type can collide with them.
    for (const p of partitions) expect(['comptages', 'referentiel', 'daily_report_2025-02-04'].includes(p!) || p!.startsWith('_')).toBe(true);
    expect((await partsOf(table, '_part#comptages')).length).toBeGreaterThanOrEqual(6);
    expect((await partsOf(table, '_part#referentiel')).length).toBeGreaterThanOrEqual(2);
    expect((await partsOf(table, '_part#_partial#velib#noise#0')).length).toBe(4);
    // Querying a type's partition sees its documents only.
    expect(await partsOf(table, 'comptages')).toEqual(['2025-02-04']);
    expect(await store.listMetricDates()).toEqual(['2025-02-04']);
  }, 120_000);

  it('writes the old layout: metrics {metric_type, date, timestamp, metrics}, reports {report_id, date, timestamp, report, csv}, no ttl', async () => {
    const { store, metrics: table, reports } = await openStore();
    await store.putMetrics('weather', '2025-02-04', { date: '2025-02-04', v: 0.1 + 0.2, n: -0 });
    await store.putReport('2025-02-04', { date: '2025-02-04' }, 'a;b\r\n');
    const m = (await raw.send(new GetItemCommand({ TableName: table, Key: { metric_type: { S: 'weather' }, date: { S: '2025-02-04' } } }))).Item!;
    expect(Object.keys(m).sort()).toEqual(['content_hash', 'date', 'key_order', 'metric_type', 'metrics', 'parts', 'timestamp']);
    expect(m.metrics.M!.v).toEqual({ N: '0.30000000000000004' });
    expect(m.metrics.M!.n).toEqual({ N: '0' });
    expect(Number.isNaN(Date.parse(m.timestamp.S!))).toBe(false);
    const r = (await raw.send(new GetItemCommand({ TableName: reports, Key: { report_id: { S: 'daily_report_2025-02-04' }, date: { S: '2025-02-04' } } }))).Item!;
    expect(r.report.M).toEqual({ date: { S: '2025-02-04' } });
    expect(r.csv).toEqual({ S: 'a;b\r\n' });
    expect(r.ttl).toBeUndefined();
  });

  it('a report CSV too large for the report item is refused before writing', async () => {
    const { store } = await openStore();
    const csv = 'a;b\r\n'.repeat(80 * KB);
    await expect(store.putReport('2025-02-04', { date: '2025-02-04' }, csv)).rejects.toMatchObject({ name: 'DocumentTooLargeError', path: 'csv (report 2025-02-04)' });
    expect(await store.getReportCsv('2025-02-04')).toBeNull();
  });

  it('reads items of the old system: numbers come back as numbers (B24)', async () => {
    const { store, metrics: table } = await openStore();
    await raw.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          metric_type: { S: 'bikes' },
          date: { S: '2024-06-01' },
          timestamp: { S: '2024-06-02T01:00:00' },
          ttl: { N: '1749000000' },
          metrics: { M: { total_velos: { N: '1234' }, moyenne: { N: '12.50' }, liste: { L: [{ N: '1' }, { S: 'x' }] } } },
        },
      }),
    );
    expect(await store.getMetrics('bikes', '2024-06-01')).toEqual({ total_velos: 1234, moyenne: 12.5, liste: [1, 'x'] });
    expect(await store.listMetricDates('bikes')).toEqual(['2024-06-01']);
  });

  it('deletes the parts of a replaced version; never reads another version', async () => {
    const { store, metrics: table } = await openStore();
    const big = largeComptagesDay(docs);
    await store.putMetrics('comptages', '2025-02-04', big);
    const first = await partsOf(table, '_part#comptages');
    expect(first.length).toBeGreaterThan(1);
    await store.putMetrics('comptages', '2025-02-04', sampleMetrics(docs, 'comptages'));
    const second = await partsOf(table, '_part#comptages');
    expect(second.some((k) => first.includes(k))).toBe(false);
    await store.putMetrics('comptages', '2025-02-04', { date: '2025-02-04', metrics: [] });
    expect(await partsOf(table, '_part#comptages')).toEqual([]);
    const bigger = largeComptagesDay(docs, 4200);
    await store.putMetrics('comptages', '2025-02-04', big);
    await store.putMetrics('comptages', '2025-02-04', bigger);
    const last = await partsOf(table, '_part#comptages');
    const head = (await raw.send(new GetItemCommand({ TableName: table, Key: { metric_type: { S: 'comptages' }, date: { S: '2025-02-04' } } }))).Item!;
    expect(last.length).toBe(Number(head.parts.N));
    for (const k of last) expect(k.startsWith(`2025-02-04#${head.content_hash.S}#`)).toBe(true);
    sameJson(await store.getMetrics('comptages', '2025-02-04'), bigger);
  }, 120_000);

  it('answers InconsistentDocumentError, never part of a document, when a part is missing', async () => {
    const { store, metrics: table } = await openStore();
    await store.putMetrics('comptages', '2025-02-04', largeComptagesDay(docs));
    const parts = await partsOf(table, '_part#comptages');
    await raw.send(new DeleteItemCommand({ TableName: table, Key: { metric_type: { S: '_part#comptages' }, date: { S: parts[2] } } }));
    await expect(store.getMetrics('comptages', '2025-02-04')).rejects.toBeInstanceOf(InconsistentDocumentError);
    // Writing the document again repairs it.
    await raw.send(new DeleteItemCommand({ TableName: table, Key: { metric_type: { S: 'comptages' }, date: { S: '2025-02-04' } } }));
    await store.putMetrics('comptages', '2025-02-04', largeComptagesDay(docs));
    sameJson(await store.getMetrics('comptages', '2025-02-04'), largeComptagesDay(docs));
  }, 120_000);
});

describe('DynamoDbStore: BatchWriteItem faults', () => {
  it('writes everything through UnprocessedItems and throttling, in batches of ≤ 25 without duplicate keys, with growing backoff', async () => {
    // Small items: the document becomes well over 26 items (head + parts).
    const { store, metrics: table } = await openStore({ endpoint: proxy.endpoint, itemBudget: 16 * KB, retryBaseMs: 20, maxAttempts: 10 });
    const doc = largeComptagesDay(docs, 1200);
    proxy.reset();
    proxy.setFaults({
      throttle: (n) => (n === 1 ? 'ProvisionedThroughputExceededException' : n === 2 ? 'ThrottlingException' : n === 9 ? 'ThrottlingException' : null),
      unprocessed: (n) => (n >= 3 && n <= 7 ? 0.3 : 0),
    });
    await store.putMetrics('comptages', '2025-02-04', doc);
    proxy.setFaults({});
    sameJson(await store.getMetrics('comptages', '2025-02-04'), doc);

    const calls = proxy.batchWrites;
    const written = new Set(calls.flatMap((c) => c.keys));
    expect(written.size).toBeGreaterThanOrEqual(26);
    expect(Math.max(...calls.map((c) => c.items))).toBe(25);
    expect(calls.every((c) => c.items <= 25 && !c.duplicateKeys)).toBe(true);
    expect(calls.filter((c) => c.throttled).length).toBe(3);
    expect(calls.filter((c) => c.unprocessed > 0).length).toBe(5);

    // The first batch takes calls 1–8: two throttled, then 30 % unprocessed while it shrinks
    // (25 sent, 8 left, 3, 1, 1, 1), then written.
    expect(calls.slice(0, 8).map((c) => c.items)).toEqual([25, 25, 25, 8, 3, 1, 1, 1]);
    const firstBatch = calls.slice(0, 8);
    const gaps = firstBatch.slice(1).map((c, i) => c.at - firstBatch[i].at);
    // Each wait is at least half of min(5 s, 20 ms × 2^(n−1)), and they grow.
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(Math.floor((20 * 2 ** i) / 2)));
    expect(gaps[gaps.length - 1]).toBeGreaterThan(gaps[0] * 4);
    const head = (await raw.send(new GetItemCommand({ TableName: table, Key: { metric_type: { S: 'comptages' }, date: { S: '2025-02-04' } } }))).Item!;
    expect((await partsOf(table, '_part#comptages')).length).toBe(Number(head.parts.N));
  }, 120_000);

  it('throws DynamoWriteError when the retry budget runs out, and the document stays absent', async () => {
    const { store } = await openStore({ endpoint: proxy.endpoint, itemBudget: 16 * KB, retryBaseMs: 5, maxAttempts: 3 });
    proxy.setFaults({ throttle: () => 'ThrottlingException' });
    const err = await store.putMetrics('comptages', '2025-02-05', largeComptagesDay(docs, 300)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DynamoWriteError);
    expect(err).toMatchObject({ name: 'DynamoWriteError', attempts: 3 });
    expect((err as DynamoWriteError).unwritten).toBeGreaterThan(1);

    proxy.setFaults({ unprocessed: () => 1 });
    await expect(store.putPartial({ source: 'bikes', fileKey: 'f', chunkIndex: 0 }, '2025-02-05', Buffer.alloc(40 * KB, 1))).rejects.toMatchObject({
      name: 'DynamoWriteError',
      message: expect.stringContaining('unprocessed'),
    });
    proxy.setFaults({});
    expect(await store.getMetrics('comptages', '2025-02-05')).toBeNull();
    expect(await store.getPartial({ source: 'bikes', fileKey: 'f', chunkIndex: 0 }, '2025-02-05')).toBeNull();
  }, 60_000);

  it('a BullMQ job whose write runs out of retries fails visibly', async () => {
    const { store } = await openStore({ endpoint: proxy.endpoint, retryBaseMs: 5, maxAttempts: 2 });
    const connection = { url: testRedisUrl() };
    const prefix = uniquePrefix('dynamo');
    const queue = new Queue('store-write', { connection, prefix });
    const worker = new Worker('store-write', async (job) => store.putMetrics('bikes', job.data.day, { date: job.data.day }), { connection, prefix });
    try {
      proxy.setFaults({ throttle: () => 'ProvisionedThroughputExceededException' });
      const failed = new Promise<{ id?: string; reason: string }>((resolve) => worker.on('failed', (job, err) => resolve({ id: job?.id, reason: `${err.name}: ${err.message}` })));
      const job = await queue.add('put', { day: '2025-02-06' }, { attempts: 1 });
      const outcome = await failed;
      expect(outcome.id).toBe(job.id);
      expect(outcome.reason).toMatch(/^DynamoWriteError: BatchWriteItem gave up after 2 attempt/);
      expect(await (await queue.getJob(job.id!))!.getState()).toBe('failed');
    } finally {
      proxy.setFaults({});
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
    expect(await store.getMetrics('bikes', '2025-02-06')).toBeNull();
  }, 60_000);
});

describe('DynamoDbStore: resources at boot', () => {
  it('CREATE_RESOURCES=false: a missing table is StoreResourceMissingError at init; existing tables are used', async () => {
    const id = tableId();
    const options: DynamoDbStoreOptions = {
      region: 'eu-west-3',
      endpoint: dynalite.endpoint,
      metricsTable: `metrics-${id}`,
      reportsTable: `reports-${id}`,
      maxAttempts: 3,
      retryBaseMs: 10,
      createResources: false,
    };
    const missing = new DynamoDbStore(options);
    await expect(missing.init()).rejects.toMatchObject({
      name: 'StoreResourceMissingError',
      missing: [expect.stringContaining(`metrics-${id}`), expect.stringContaining(`reports-${id}`)],
    });
    await missing.close();
    const creator = new DynamoDbStore({ ...options, createResources: true });
    await creator.init();
    await creator.close();
    const user = new DynamoDbStore(options);
    await user.init();
    await user.putMetrics('bikes', '2025-02-04', { ok: true });
    expect(await user.getMetrics('bikes', '2025-02-04')).toEqual({ ok: true });
    await user.close();
  });

  it('a table with another key schema (the old deployment doc\'s reports table keyed by date) is StoreResourceMismatchError', async () => {
    const id = tableId();
    await raw.send(
      new CreateTableCommand({
        TableName: `reports-${id}`,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'date', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'date', KeyType: 'HASH' }],
      }),
    );
    const store = new DynamoDbStore({ region: 'eu-west-3', endpoint: dynalite.endpoint, metricsTable: `metrics-${id}`, reportsTable: `reports-${id}`, maxAttempts: 3, retryBaseMs: 10, createResources: true });
    await expect(store.init()).rejects.toMatchObject({ name: 'StoreResourceMismatchError' });
    await store.close();
  });

  it('CoreModule opens the store before the app starts and closes it at shutdown', async () => {
    const id = tableId();
    const env = {
      DATABASE_TYPE: 'dynamodb',
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      DYNAMODB_METRICS_TABLE: `metrics-${id}`,
      DYNAMODB_REPORTS_TABLE: `reports-${id}`,
      LOG_LEVEL: 'silent' as const,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    const refused = NestFactory.createApplicationContext(CoreModule.forRoot(loadConfig({ ...env, CREATE_RESOURCES: 'false' }, os.tmpdir()), 'test'), { logger: false, abortOnError: false });
    await expect(refused).rejects.toMatchObject({ name: 'StoreResourceMissingError' });

    const app = await NestFactory.createApplicationContext(CoreModule.forRoot(loadConfig(env, os.tmpdir()), 'test'), { logger: false, abortOnError: false });
    const store = app.get<Store>(STORE);
    expect(store).toBeInstanceOf(DynamoDbStore);
    await store.putMetrics('velib', '2025-02-04', { stations: 1 });
    expect(await store.getMetrics('velib', '2025-02-04')).toEqual({ stations: 1 });
    await app.close();
    await expect(store.getMetrics('velib', '2025-02-04')).rejects.toBeInstanceOf(StoreClosedError);
  });
});
