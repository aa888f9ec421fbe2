/**
 * Helpers shared by the database backends: store key parts, object keys as stored, and the
 * content hash that versions a document.
 */
import { createHash } from 'node:crypto';
import { InvalidStoreKeyError } from './store-errors';

/** Same alphabet as FsStore's file names, so a key accepted by one backend is accepted by all. */
const KEY_PART_RE = /^[A-Za-z0-9._*-]+$/;
export const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Check one part of a store key. Besides FsStore's alphabet, a leading `_` is refused for metric
 * types: such partition keys are the DynamoDB backend's own (parts, partials, runs).
 */
export function keyPart(value: string | number, what: string): string {
  const s = String(value);
  if (!KEY_PART_RE.test(s) || s === '.' || s === '..') throw new InvalidStoreKeyError(what, s);
  return s;
}

export function metricTypeKey(type: string): string {
  if (type.startsWith('_')) throw new InvalidStoreKeyError('metric type', type);
  return keyPart(type, 'metric type');
}

/**
 * Object keys as the databases store them. MongoDB treats `$`-prefixed and dotted field names
 * specially and BSON cannot hold NUL in a name; an empty map key is not safe in every DynamoDB
 * API; `__proto__` would be lost by client code that builds maps by assignment. Such keys (and
 * keys starting with the escape mark `%`) are stored as `%` + the key with `%`, `.`, `$` and NUL
 * percent-encoded; every other key is stored as it is. Reading reverses it, so documents come
 * back with their own keys. The domain's documents have none of these keys.
 */
const NEEDS_ESCAPE = /^[$%]|[.\u0000]|^$|^__proto__$/;

export function storedKey(key: string): string {
  if (!NEEDS_ESCAPE.test(key)) return key;
  return '%' + key.replace(/[%.$\u0000]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase());
}

export function originalKey(stored: string): string {
  if (!stored.startsWith('%')) return stored;
  return stored.slice(1).replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Set an own, enumerable property, as JSON.parse does: a plain assignment of `__proto__` would
 * change the object's prototype instead of adding the key.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** SHA-256 (hex) of a document's stored content; names the version its parts belong to. */
export function contentHash(...pieces: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of pieces) {
    h.update(p);
    // A separator that cannot occur in JSON text, so ("ab", "c") and ("a", "bc") differ.
    h.update('\u0000');
  }
  return h.digest('hex');
}
