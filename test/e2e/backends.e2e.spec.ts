/**
 * Same results in every mode: one three-day raw tree (every source; the comptages file cut into
 * chunks) goes through the real services
 *   A. filesystem store, raw files from a local folder (the default mode);
 *   B. DynamoDB store (dynalite) and raw files from S3 (s3rver), reports exported to S3;
 *   C. MongoDB store, local raw files — only when MONGODB_URL is set (no server on this machine);
 * and the API of each mode answers every metrics and report route with the same bytes.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createBucket, s3rverClient, s3rverEnv, startDynalite, startS3rver, uploadTree, useS3rverCredentials, type RunningDynalite, type RunningS3rver } from '@cityflow/testing';
import { buildMultiDayTree, type MultiDayTree } from './multi-day-tree';
import { startTestStack, type TestStack } from './stack-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../scripts/lib/stack');

const START = '2025-02-02';
const DAYS = 3;
const COMMON = { SOURCE_DATE_EPOCH: '1738800000', MAX_FILE_SIZE_MB: '0.5', EC2_CHUNK_SIZE: '700' };
const MONGODB_URL = process.env.MONGODB_URL;
const cleanups: (() => void)[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

interface Mode {
  name: string;
  stack: TestStack;
  rawDir: string;
  api?: { child: unknown; base: string };
  runs: { day: string; status: string; error?: string }[];
}

async function runMode(name: string, env: Record<string, string>, rawDir: (s: TestStack) => string, days: string[]): Promise<Mode> {
  // The S3 cache goes to a temporary folder, not the default `s3_cache` of the working directory.
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-s3-cache-'));
  const s = await startTestStack({ ...COMMON, S3_CACHE_DIR: cacheDir, ...env }, 2);
  cleanups.push(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
  const mode: Mode = { name, stack: s, rawDir: rawDir(s), runs: [] };
  for (const day of days) {
    const r = await s.run(day, mode.rawDir);
    mode.runs.push({ day, status: r.status, error: r.error });
  }
  const port = await freePort();
  const child = stack.startService('api', { ...s.env, API_PORT: String(port) }, { quiet: true });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`api of mode ${name} exited (${child.exitCode}):\n${child.tail()}`);
    const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  mode.api = { child, base };
  return mode;
}

async function stopMode(m: Mode | undefined) {
  if (!m) return;
  if (m.api) await stack.stopProcess(m.api.child);
  await m.stack.stop();
  fs.rmSync(m.stack.outputDir, { recursive: true, force: true });
}

/** Status, content type and body of a GET. */
async function get(m: Mode, route: string): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(`${m.api!.base}${route}`);
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

const TYPES = ['comptages', 'referentiel', 'chantiers', 'bikes', 'traffic', 'weather', 'velib'];

describe('same results in every mode (real services, API compared byte for byte)', () => {
  let tree: MultiDayTree;
  let s3: RunningS3rver;
  let dynamo: RunningDynalite;
  let client: S3Client;
  const modes: Mode[] = [];
  let days: string[];
  let restoreCredentials: () => void;

  beforeAll(async () => {
    // This process reads run records from the store too (scripts/lib/stack.js), with the SDK's
    // default credential chain: the emulators' credentials, like the services get in their env.
    restoreCredentials = useS3rverCredentials();
    tree = buildMultiDayTree(START, DAYS);
    days = tree.expected.dates;
    [s3, dynamo] = await Promise.all([startS3rver(), startDynalite()]);
    client = s3rverClient(s3.endpoint);
    await createBucket(client, 'cityflow-raw-e2e');
    await uploadTree(client, tree.raw, 'cityflow-raw-e2e', 'cityflow-raw/raw');

    modes.push(await runMode('filesystem + local files', {}, () => tree.raw, days));
    const aws = {
      ...s3rverEnv(s3.endpoint, { bucket: 'cityflow-raw-e2e', prefix: 'cityflow-raw/raw', reportsBucket: 'cityflow-reports-e2e', reportsPrefix: 'exports' }),
      DATABASE_TYPE: 'dynamodb',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      DYNAMODB_METRICS_TABLE: 'e2e-metrics',
      DYNAMODB_REPORTS_TABLE: 'e2e-reports',
      S3_READ_TIMEOUT_MS: '5000',
    };
    modes.push(await runMode('DynamoDB + S3', aws, () => 's3://cityflow-raw-e2e/cityflow-raw/raw', days));
    if (MONGODB_URL) {
      modes.push(await runMode('MongoDB + local files', { DATABASE_TYPE: 'mongodb', MONGODB_URL, MONGODB_DATABASE: `cityflow_e2e_${process.pid}` }, () => tree.raw, days));
    } else {
      console.log('MongoDB mode skipped: MONGODB_URL is not set (the filesystem and DynamoDB + S3 modes still run)');
    }
  }, 900_000);

  afterAll(async () => {
    for (const m of modes) await stopMode(m);
    client?.destroy();
    await Promise.all([s3?.stop(), dynamo?.stop()]);
    tree?.remove();
    for (const c of cleanups) c();
    restoreCredentials?.();
  }, 120_000);

  it('every mode completes every day', () => {
    for (const m of modes) expect({ mode: m.name, runs: m.runs }).toEqual({ mode: m.name, runs: days.map((day) => ({ day, status: 'completed', error: undefined })) });
  });

  it('the DynamoDB + S3 run read its comptages file from S3 in chunks', async () => {
    const aws = modes[1];
    const runs = JSON.parse((await get(aws, '/api/runs?limit=10')).body) as { runs?: { files?: { source: string; chunked: boolean }[] }[] } | { files?: unknown }[];
    const list = Array.isArray(runs) ? runs : (runs.runs ?? []);
    const files = list.flatMap((r) => ((r as { files?: { source: string; chunked: boolean }[] }).files ?? []));
    expect(files.some((f) => f.source === 'comptages' && f.chunked)).toBe(true);
  });

  it('the API answers the same bytes for dates, stats, every metrics document, arcs and reports', async () => {
    const routes = ['/api/dates', '/api/report', '/api/metrics'];
    const [a] = modes;
    const dates = JSON.parse((await get(a, '/api/dates')).body);
    expect(JSON.stringify(dates)).toContain(days[0]);
    for (const day of days) {
      routes.push(`/api/metrics/${day}`, `/api/report/${day}`, `/api/report/${day}/csv`, `/api/metrics/comptages/${day}/arcs?limit=50&offset=10`);
      for (const type of TYPES) routes.push(`/api/metrics/${type}/${day}`);
    }
    // Comptages days outside the run days (the export's backfill), read through the same routes.
    const comptagesDays = (await fetch(`${a.api!.base}/api/dates`).then((r) => r.json())) as unknown;
    for (const d of JSON.stringify(comptagesDays).match(/\d{4}-\d{2}-\d{2}/g) ?? []) routes.push(`/api/metrics/comptages/${d}`);

    let compared = 0;
    const notOk: string[] = [];
    for (const route of [...new Set(routes)]) {
      const ref = await get(a, route);
      // Every route asked for has data (the missing-date routes answer 400 by design).
      if (ref.status !== 200 && !(route === '/api/report' || route === '/api/metrics')) notOk.push(`${route} ${ref.status}`);
      for (const m of modes.slice(1)) {
        const got = await get(m, route);
        expect({ mode: m.name, route, status: got.status, type: got.type, body: got.body }).toEqual({ mode: m.name, route, status: ref.status, type: ref.type, body: ref.body });
        compared++;
      }
    }
    expect(notOk).toEqual([]);
    expect(compared).toBeGreaterThan(30);
    // /stats names the backend and the time of the answer; the rest is the same.
    const stats = async (m: Mode) => {
      const { database_type, timestamp, ...rest } = JSON.parse((await get(m, '/api/stats')).body);
      expect({ mode: m.name, database_type, timestamp: typeof timestamp }).toEqual({ mode: m.name, database_type: m.stack.env.DATABASE_TYPE ?? 'filesystem', timestamp: 'string' });
      return rest;
    };
    const refStats = await stats(a);
    expect(refStats.database_stats).toEqual({ metrics_count: expect.any(Number), reports_count: DAYS });
    for (const m of modes.slice(1)) expect({ mode: m.name, ...(await stats(m)) }).toEqual({ mode: m.name, ...refStats });
    // Numbers stay numbers: the old DynamoDB path returned Decimals as strings.
    const comptages = JSON.parse((await get(modes[1], `/api/metrics/comptages/${days[1]}`)).body);
    expect(JSON.stringify(comptages)).toMatch(/"debit_journalier_total":\d/);
  });

  it('reports are exported to S3 (CSV and JSON), byte for byte what the API serves', async () => {
    const aws = modes[1];
    for (const day of days) {
      for (const [ext, route] of [
        ['csv', `/api/report/${day}/csv`],
        ['json', `/api/report/${day}`],
      ]) {
        const obj = await client.send(new GetObjectCommand({ Bucket: 'cityflow-reports-e2e', Key: `exports/daily_report_${day}.${ext}` }));
        const text = await obj.Body!.transformToString('utf8');
        const api = await get(aws, route);
        if (ext === 'csv') expect(text).toBe(api.body);
        else expect(JSON.parse(text)).toEqual(JSON.parse(api.body).report ?? JSON.parse(api.body));
      }
    }
  });
});
