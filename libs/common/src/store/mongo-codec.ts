/**
 * JSON documents ⇄ the values MongoStore hands to the driver.
 *
 * BSON keeps the order of a document's fields and the driver reads them back in that order, so
 * objects need no key-order record (JS itself puts integer-like keys first, on write and on read
 * alike, as JSON.parse does for FsStore). Two changes are made on the way in and undone on the
 * way out:
 * - keys MongoDB cannot take as field names (`$…`, dotted, NUL, empty) are escaped (stored-keys.ts);
 * - `-0` becomes 0: BSON would keep -0 as a double, JSON and the other backends give 0.
 * Numbers are written as BSON int32 or double, and read back as the same JS numbers.
 */
import type { ContainerKind, PathStep, SizeModel } from './doc-split';
import { InconsistentDocumentError } from './store-errors';
import { originalKey, setOwn, storedKey } from './stored-keys';

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** A validated JSON value as MongoStore stores it (a copy; the input is not modified). */
export function toMongoValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return Object.is(value, -0) ? 0 : value;
  if (Array.isArray(value)) return value.map(toMongoValue);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) setOwn(out, storedKey(k), toMongoValue((value as Record<string, unknown>)[k]));
  return out;
}

/** A stored value, as the driver returned it, back to the JSON document that was put. */
export function fromMongoValue(value: unknown, key: string): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new InconsistentDocumentError(key, `stored number ${value} is not finite`);
      return value;
  }
  if (Array.isArray(value)) return value.map((v) => fromMongoValue(v, key));
  const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    // Long, Decimal128, Date, Binary…: never written by this store.
    throw new InconsistentDocumentError(key, `unexpected stored value of type ${(value as { _bsontype?: string })._bsontype ?? typeof value}`);
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value as object)) setOwn(out, originalKey(k), fromMongoValue((value as Record<string, unknown>)[k], key));
  return out;
}

/** Decimal digits of an array index: BSON names array elements "0", "1", …. */
const indexDigits = (i: number) => String(i).length;
/** Pages name their entries 0 … n−1; n stays far below ten million. */
const PAGE_INDEX_DIGITS = 7;

/**
 * BSON sizes, for values already converted by toMongoValue: an element is its type byte, its
 * name and a NUL, then its value; a document or array is 4 + elements + 1. Numbers count as
 * doubles (8 bytes; int32 takes 4).
 */
export const bsonSizeModel: SizeModel = {
  scalar(value) {
    if (typeof value === 'string') return 4 + utf8(value) + 1;
    if (typeof value === 'number') return 8;
    if (typeof value === 'boolean') return 1;
    return 0;
  },
  container() {
    return 5;
  },
  entry(kind: ContainerKind, key: PathStep, valueSize: number) {
    return 1 + (kind === 'array' ? indexDigits(key as number) : utf8(key as string)) + 1 + valueSize;
  },
  pageEntry(kind: ContainerKind, key: PathStep, valueSize: number) {
    const element = 1 + PAGE_INDEX_DIGITS + 1;
    if (kind === 'array') return element + valueSize;
    // A [key, value] pair: an array of a string and the value.
    return element + 5 + (3 + 4 + utf8(key as string) + 1) + (3 + valueSize);
  },
  splitRef(path: PathStep[]) {
    return 64 + path.reduce<number>((s, step) => s + 12 + (typeof step === 'string' ? utf8(step) : 8), 0);
  },
};
