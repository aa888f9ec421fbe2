import Redis from 'ioredis';
import { redisOptionsFromUrl } from '../queue/redis-connection';

/**
 * Liveness check for worker containers: exit 0 when Redis answers PING and its eviction policy
 * is `noeviction` (any other policy silently loses BullMQ locks), else exit 1 with the reason.
 */
export async function redisHealthCheck(url: string): Promise<{ ok: boolean; reason?: string; misconfigured?: boolean }> {
  const client = new Redis({ ...(redisOptionsFromUrl(url) as object), lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.connect();
    await client.ping();
    const policy = (await client.config('GET', 'maxmemory-policy')) as string[];
    if (policy[1] && policy[1] !== 'noeviction')
      return { ok: false, misconfigured: true, reason: `redis maxmemory-policy is ${policy[1]}; BullMQ needs noeviction (evicted lock keys make jobs run twice)` };
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  } finally {
    client.disconnect();
  }
}
