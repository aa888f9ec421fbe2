/**
 * An in-process S3 server (s3rver) for tests, and helpers to fill it. It speaks the real S3 REST
 * protocol (SigV4, ranged GETs, ListObjectsV2 pagination, multipart uploads), so the code under
 * test uses the real AWS SDK against it. Two differences with S3 matter here: s3rver ignores
 * If-Match (readers compare ETags themselves), and it accepts any signature made with the
 * S3RVER credentials below.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

// The proxy that stalls S3 bodies belongs to the same harness.
export * from './tcp-stall-proxy';

/** The s3rver package has no type declarations: the part used here. */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: { port: number; address: string; silent: boolean; directory: string }) => S3rverServer;

/** Credentials s3rver accepts (its default account). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const S3RVER_REGION = 'us-east-1';

export interface RunningS3rver {
  /** `http://127.0.0.1:<port>`: the endpoint for clients (AWS_ENDPOINT_URL_S3). */
  endpoint: string;
  port: number;
  /** Folder holding the buckets (removed by `stop`). */
  dir: string;
  stop(): Promise<void>;
}

/** Start s3rver on a free loopback port, with its buckets in a new temporary folder. */
export async function startS3rver(): Promise<RunningS3rver> {
  quietNodeVersionWarning();
  enableContinuationTokens();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as S3rverConstructor;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
  const { port } = await server.run();
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A client for s3rver (path-style addressing, s3rver's credentials). Checksums only when an
 * operation requires them: s3rver does not decode the aws-chunked framing the SDK uses to send
 * a stream body with a checksum trailer, and would store the framing as object bytes.
 */
export function s3rverClient(endpoint: string): S3Client {
  quietNodeVersionWarning();
  return new S3Client({ endpoint, region: S3RVER_REGION, forcePathStyle: true, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
}

/**
 * Environment of a service reading its raw input from s3rver (S3 mode): add it to a test stack's
 * env. `prefix` is the raw prefix inside `bucket`; reports are exported to `reportsBucket`.
 */
export function s3rverEnv(endpoint: string, opts: { bucket: string; prefix: string; reportsBucket?: string; reportsPrefix?: string }): Record<string, string> {
  return {
    USE_S3: 'true',
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_REGION: S3RVER_REGION,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    S3_RAW_BUCKET: opts.bucket,
    S3_RAW_PREFIX: opts.prefix,
    ...(opts.reportsBucket ? { S3_REPORTS_BUCKET: opts.reportsBucket } : {}),
    ...(opts.reportsPrefix ? { S3_REPORTS_PREFIX: opts.reportsPrefix } : {}),
  };
}

/**
 * Give this process s3rver's credentials (the SDK's default chain reads them from the
 * environment, as services do); returns a function restoring the previous values.
 */
export function useS3rverCredentials(): () => void {
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  quietNodeVersionWarning();
  return () => {
    for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Create `bucket` (S3 bucket names: 3–63 lowercase letters, digits, dots and dashes). */
export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Put objects (key → content), at most `concurrency` at a time; returns their ETags by key. */
export async function putObjects(client: S3Client, bucket: string, objects: Record<string, Buffer | string>, concurrency = 16): Promise<Record<string, string>> {
  const etags: Record<string, string> = {};
  await runBounded(Object.entries(objects), concurrency, async ([key, body]) => {
    const res = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    etags[key] = res.ETag!;
  });
  return etags;
}

/**
 * Upload every file below `localDir` to `bucket` under `prefix`, keeping relative paths
 * (`<prefix>/<relative path>`), so a local raw tree becomes the same tree in S3. Returns the keys.
 */
export async function uploadTree(client: S3Client, localDir: string, bucket: string, prefix: string, concurrency = 16): Promise<string[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) files.push(full);
    }
  };
  walk(localDir);
  const p = prefix.replace(/^\/+|\/+$/g, '');
  const keys: string[] = [];
  await runBounded(files, concurrency, async (file) => {
    const rel = path.relative(localDir, file).split(path.sep).join('/');
    const key = p ? `${p}/${rel}` : rel;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: fs.readFileSync(file) }));
    keys.push(key);
  });
  return keys.sort();
}

/** Start s3rver with one bucket holding a copy of `localDir` under `prefix`. */
export async function startS3rverWithTree(localDir: string, bucket: string, prefix: string): Promise<RunningS3rver & { keys: string[] }> {
  const server = await startS3rver();
  const client = s3rverClient(server.endpoint);
  try {
    await createBucket(client, bucket);
    const keys = await uploadTree(client, localDir, bucket, prefix);
    return { ...server, keys };
  } catch (e) {
    await server.stop();
    throw e;
  } finally {
    client.destroy();
  }
}

type CipherFactory = (algorithm: string, key: Buffer, iv: Buffer | null, options?: unknown) => unknown;

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node ≥ 17)
 * only has in its legacy provider: every truncated listing would fail with HTTP 500. Triple DES
 * with three equal keys is the same cipher and is in the default provider, so `des` is mapped to
 * it. Only that algorithm, which otherwise throws, is affected, and only in test processes.
 */
function enableContinuationTokens(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as { createCipheriv: CipherFactory; createDecipheriv: CipherFactory };
  try {
    crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return; // DES available (legacy provider loaded, or an older OpenSSL)
  } catch {
    // mapped below
  }
  const viaTripleDes =
    (make: CipherFactory): CipherFactory =>
    (algorithm, key, iv, options) =>
      algorithm === 'des' ? make('des-ede3-cbc', Buffer.concat([key, key, key]), iv, options) : make(algorithm, key, iv, options);
  crypto.createCipheriv = viaTripleDes(crypto.createCipheriv);
  crypto.createDecipheriv = viaTripleDes(crypto.createDecipheriv);
}

/** The AWS SDK warns once per process about Node versions it will stop supporting; not news in tests. */
function quietNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

async function runBounded<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
