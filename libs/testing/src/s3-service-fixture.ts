/**
 * A service's world in S3 mode, for the services' own tests: s3rver holding a few raw objects
 * under a prefix, the S3-mode configuration pointing at it (harness Redis, a private queue prefix,
 * temporary output and cache folders), the raw sources made from that configuration, and queues
 * that are emptied and closed with the rest by `close()`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import type { S3Client } from '@aws-sdk/client-s3';
import { AppConfig, createLogger, createRawSources, loadConfig, Logger, RawSources, workerConnection } from '@cityflow/common';
import { testRedisUrl, uniquePrefix } from './fixtures';
import { createBucket, putObjects, RunningS3rver, s3rverClient, s3rverEnv, startS3rver, useS3rverCredentials } from './s3rver';

export interface S3ServiceFixture {
  s3: RunningS3rver;
  client: S3Client;
  config: AppConfig;
  log: Logger;
  rawSources: RawSources;
  /** A queue of the fixture's prefix (emptied and closed by `close`). */
  queue(name: string): Queue;
  close(): Promise<void>;
}

export async function startS3ServiceFixture(opts: {
  /** Names the queue prefix, the temporary folder and the logger. */
  label: string;
  bucket: string;
  prefix: string;
  /** Objects to put, by key relative to `prefix`. */
  objects: Record<string, Buffer | string>;
  /** More settings (e.g. MAX_FILE_SIZE_MB). */
  env?: Record<string, string>;
}): Promise<S3ServiceFixture> {
  const restoreCredentials = useS3rverCredentials();
  const s3 = await startS3rver();
  const client = s3rverClient(s3.endpoint);
  await createBucket(client, opts.bucket);
  await putObjects(client, opts.bucket, Object.fromEntries(Object.entries(opts.objects).map(([key, body]) => [`${opts.prefix}/${key}`, body])));
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), `cityflow-${opts.label}-`));
  const config = loadConfig(
    {
      ...s3rverEnv(s3.endpoint, { bucket: opts.bucket, prefix: opts.prefix }),
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix(opts.label),
      OUTPUT_DIR: path.join(cwd, 'output'),
      S3_CACHE_DIR: path.join(cwd, 'cache'),
      ...opts.env,
    },
    cwd,
  );
  const log = createLogger({ logLevel: 'silent', logPretty: false, serviceName: `${opts.label}-test` });
  const rawSources = createRawSources(config, log);
  const queues: Queue[] = [];
  return {
    s3,
    client,
    config,
    log,
    rawSources,
    queue(name: string) {
      const q = new Queue(name, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
      queues.push(q);
      return q;
    },
    async close() {
      for (const q of queues) {
        await q.obliterate({ force: true });
        await q.close();
      }
      rawSources.destroy();
      client.destroy();
      await s3.stop();
      fs.rmSync(cwd, { recursive: true, force: true });
      restoreCredentials();
    },
  };
}
