/**
 * MongoStore against a real MongoDB (MONGODB_URL, e.g. a single-node replica set). Without it these
 * tests are skipped, except the one that needs no server. The shared contract is in
 * store-contract.spec.ts; the codec is checked against real BSON in store-encoding.spec.ts.
 */
import { BSON, MongoClient } from 'mongodb';
import { MongoStore, MongoStoreOptions } from '@cityflow/common';
import { largeComptagesDay, SampleDocs, sampleDocs, sampleMetrics } from './store-fixtures';

const MONGODB_URL = process.env.MONGODB_URL;
if (!MONGODB_URL) console.log('MongoDB store tests skipped: MONGODB_URL is not set');
const withServer = MONGODB_URL ? describe : describe.skip;

describe('MongoStore without a server', () => {
  it('init fails after the 5 s server selection timeout, with the driver error', async () => {
    const store = new MongoStore({ url: 'mongodb://127.0.0.1:9/', database: 'cityflow', createResources: true });
    const started = Date.now();
    await expect(store.init()).rejects.toMatchObject({ name: 'MongoServerSelectionError' });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(4500);
    expect(elapsed).toBeLessThan(15_000);
    await store.close();
  }, 30_000);
});

withServer('MongoStore on a real server', () => {
  let admin: MongoClient;
  let docs: SampleDocs;
  const databases: string[] = [];
  const stores: MongoStore[] = [];
  let seq = 0;

  async function open(over: Partial<MongoStoreOptions> = {}): Promise<{ store: MongoStore; database: string }> {
    const database = `cityflow_test_${process.pid}_${Date.now().toString(36)}_${seq++}`;
    databases.push(database);
    const store = new MongoStore({ url: MONGODB_URL!, database, createResources: true, ...over });
    await store.init();
    stores.push(store);
    return { store, database };
  }

  beforeAll(async () => {
    admin = new MongoClient(MONGODB_URL!, { serverSelectionTimeoutMS: 5000 });
    await admin.connect();
    docs = await sampleDocs();
  }, 120_000);

  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const d of databases) await admin.db(d).dropDatabase();
    await admin.close();
  });

  it('creates the unique indexes the upserts rely on (default names, as the old system)', async () => {
    const { database } = await open();
    const names = async (c: string) => (await admin.db(database).collection(c).listIndexes().toArray()).map((i) => `${i.name}${i.unique ? ' unique' : ''}`).sort();
    expect(await names('metrics')).toEqual(['_id_', 'date_1', 'metric_type_1_date_1 unique']);
    expect(await names('reports')).toEqual(['_id_', 'date_1 unique']);
    expect(await names('doc_parts')).toEqual(['_id_', 'owner_1_version_1_index_1 unique']);
  });

  it('CREATE_RESOURCES=false on an empty database: StoreResourceMissingError at init', async () => {
    const database = `cityflow_test_empty_${process.pid}_${Date.now().toString(36)}`;
    databases.push(database);
    const store = new MongoStore({ url: MONGODB_URL!, database, createResources: false });
    await expect(store.init()).rejects.toMatchObject({ name: 'StoreResourceMissingError' });
    await store.close();
  });

  it('10 concurrent upserts of one key leave one document; created_at is kept, updated_at moves (B25)', async () => {
    const { store, database } = await open();
    const doc = sampleMetrics(docs, 'bikes');
    await Promise.all(Array.from({ length: 10 }, () => store.putMetrics('bikes', '2025-02-04', doc)));
    const metrics = admin.db(database).collection('metrics');
    expect(await metrics.countDocuments({ metric_type: 'bikes', date: '2025-02-04' })).toBe(1);
    const first = (await metrics.findOne({ metric_type: 'bikes', date: '2025-02-04' }))!;
    expect(first.created_at).toBeInstanceOf(Date);

    const variants = Array.from({ length: 10 }, (_, i) => ({ date: '2025-02-04', variant: i }));
    await Promise.all(variants.map((v) => store.putMetrics('bikes', '2025-02-04', v)));
    expect(await metrics.countDocuments({ metric_type: 'bikes', date: '2025-02-04' })).toBe(1);
    const after = (await metrics.findOne({ metric_type: 'bikes', date: '2025-02-04' }))!;
    expect(after.created_at).toEqual(first.created_at);
    expect(after.updated_at.getTime()).toBeGreaterThanOrEqual(first.updated_at.getTime());
    expect(variants).toContainEqual(await store.getMetrics('bikes', '2025-02-04'));
    expect(Object.keys(after)).toEqual(expect.arrayContaining(['metric_type', 'date', 'timestamp', 'metrics', 'created_at', 'updated_at']));
  });

  it('splits a document over 16 MB into documents under 16 MB, reads it whole, and drops old parts on overwrite', async () => {
    const { store, database } = await open();
    const big = largeComptagesDay(docs, 28_000);
    expect(JSON.stringify(big).length).toBeGreaterThan(16 * 1024 * 1024);
    await store.putMetrics('comptages', '2025-02-04', big);
    expect(JSON.stringify(await store.getMetrics('comptages', '2025-02-04'))).toBe(JSON.stringify(big));
    const db = admin.db(database);
    const head = (await db.collection('metrics').findOne({ metric_type: 'comptages', date: '2025-02-04' }))!;
    expect(BSON.calculateObjectSize(head)).toBeLessThan(16 * 1024 * 1024);
    const parts = await db.collection('doc_parts').find({ owner: 'metrics/comptages/2025-02-04' }).toArray();
    expect(parts.length).toBe(head.parts);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const p of parts) expect(BSON.calculateObjectSize(p)).toBeLessThan(16 * 1024 * 1024);

    const small = sampleMetrics(docs, 'comptages');
    await store.putMetrics('comptages', '2025-02-04', small);
    expect(JSON.stringify(await store.getMetrics('comptages', '2025-02-04'))).toBe(JSON.stringify(small));
    expect(await db.collection('doc_parts').countDocuments({ owner: 'metrics/comptages/2025-02-04' })).toBe(0);
  }, 180_000);
});
