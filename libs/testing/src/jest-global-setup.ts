import { startRedisServer } from './redis-server';

/** Starts one private redis-server for the whole test run; tests isolate with unique queue prefixes. */
export default async function globalSetup(): Promise<void> {
  const redis = await startRedisServer();
  process.env.CITYFLOW_TEST_REDIS_URL = redis.url;
  (globalThis as { __CITYFLOW_REDIS__?: unknown }).__CITYFLOW_REDIS__ = redis;
}
