import { startRedisServer } from './redis-server';

/** Starts one private redis-server for the whole test run; tests isolate with unique queue prefixes. */
export default async function globalSetup(): Promise<void> {
  // The AWS SDK warns once per process that its 2027 releases will need Node 22: true, and noise
  // in every test that makes an S3 or DynamoDB client (the workers and services inherit this).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const redis = await startRedisServer();
  process.env.CITYFLOW_TEST_REDIS_URL = redis.url;
  (globalThis as { __CITYFLOW_REDIS__?: unknown }).__CITYFLOW_REDIS__ = redis;
}
