import { createHash, timingSafeEqual } from 'node:crypto';
import { errors } from '../common/api-error';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Check the `x-api-key` header in constant time. Both sides are hashed first so that
 * `timingSafeEqual` always compares equal lengths and the key's length does not leak either.
 * No key configured means the route is closed (503), never open.
 */
export function assertApiKey(provided: string | string[] | undefined, expected: string | undefined): void {
  if (!expected) throw errors.apiKeyUnset();
  if (typeof provided !== 'string' || provided.length === 0 || provided.length > 1024) throw errors.unauthorized();
  if (!timingSafeEqual(digest(provided), digest(expected))) throw errors.unauthorized();
}
