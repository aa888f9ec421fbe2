/** A worker refuses to run against a Redis that evicts keys (BullMQ needs noeviction). */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { startRedisServer } from '@cityflow/testing';
import Redis from 'ioredis';

const ROOT = path.resolve(__dirname, '../..');

describe('redis eviction policy at boot', () => {
  it('a worker exits 1 with a clear message when maxmemory-policy is not noeviction', async () => {
    const redis = await startRedisServer();
    const client = new Redis(redis.url);
    try {
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const r = spawnSync(process.execPath, [path.join(ROOT, 'services/processor/dist/main.js')], {
        env: { PATH: process.env.PATH, REDIS_URL: redis.url, OUTPUT_DIR: os.tmpdir(), LOG_LEVEL: 'info' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/refusing to start: redis maxmemory-policy is allkeys-lru; BullMQ needs noeviction/);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  }, 30_000);
});
