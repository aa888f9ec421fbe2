export default async function globalTeardown(): Promise<void> {
  const redis = (globalThis as { __CITYFLOW_REDIS__?: { stop(): Promise<void> } }).__CITYFLOW_REDIS__;
  if (redis) await redis.stop();
}
