/**
 * The one validation boundary every store backend calls before writing a document, so a document
 * accepted by one backend is accepted by all, and nothing is silently changed on the way in.
 *
 * A storable document is a JSON value built from plain objects (prototype Object.prototype or
 * null), arrays, strings, booleans, null and numbers, with these rules:
 *
 * | value                                   | rule                                                                  |
 * |-----------------------------------------|-----------------------------------------------------------------------|
 * | NaN, Infinity, -Infinity                | rejected (a 0/0 average must be null in the domain, not NaN)          |
 * | integer beyond ±(2^53 − 1)              | rejected: it already lost precision; every double ≥ 2^53 is one       |
 * | non-zero magnitude below 1e-130         | rejected: below DynamoDB's smallest number (5e-324 underflows there)  |
 * | -0                                      | stored as 0 by every backend (JSON has no -0; FsStore always wrote 0)  |
 * | undefined (object value, array item)    | rejected (JSON would drop or null it: the domain uses null)           |
 * | Date, Map, Buffer, class instance       | rejected (DynamoDB's marshaller would store a Date as {M:{}})         |
 * | function, symbol, bigint                | rejected                                                              |
 * | symbol-keyed property                   | rejected (JSON drops it)                                              |
 * | string or key with a lone surrogate     | rejected (UTF-8 backends would store U+FFFD instead)                  |
 * | cycle, nesting deeper than 30 levels    | rejected (DynamoDB allows 32 levels, and a document sits one level in) |
 *
 * Every number that passes is stored and read back as the same double: DynamoDB receives
 * `String(n)` (the shortest text that parses back to n, at most 17 significant digits against
 * DynamoDB's 38), BSON stores the double itself, FsStore writes JSON text.
 */
import { UnstorableValueError } from './store-errors';

/** Deepest nesting of arrays/objects inside a document (the document itself is depth 0). */
export const MAX_DOCUMENT_DEPTH = 30;
/** Smallest non-zero magnitude DynamoDB stores (its range is 1E-130 … 9.99…E+125). */
export const MIN_NUMBER_MAGNITUDE = 1e-130;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** JSON path of an object key or array index below `parent` (`$.a.b`, `$.list[3]`, `$["odd key"]`). */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return IDENTIFIER.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

function describe(value: object): string {
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return proto?.constructor?.name ? `a ${proto.constructor.name} instance` : 'an object with a custom prototype';
}

/** Whether `value` is a plain object: what JSON.parse and object literals make, or Object.create(null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Throw UnstorableValueError unless `n` is a number every backend stores and reads back unchanged. */
export function assertStorableNumber(n: number, path: string): void {
  if (!Number.isFinite(n)) throw new UnstorableValueError(path, `${n} is not a finite number`);
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
    throw new UnstorableValueError(path, `${n} is an integer beyond ±(2^53 − 1): it cannot be trusted to be exact`);
  }
  if (n !== 0 && Math.abs(n) < MIN_NUMBER_MAGNITUDE) {
    throw new UnstorableValueError(path, `${n} is below the smallest magnitude stored (${MIN_NUMBER_MAGNITUDE})`);
  }
}

/** Whether `s` has no lone UTF-16 surrogate (native `isWellFormed` where the runtime has it). */
const wellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as string & { isWellFormed(): boolean }).isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

/**
 * Throw UnstorableValueError (with the JSON path of the first offending value) unless `doc` is a
 * storable document (see the rules above). `root` names the document in the path.
 *
 * It runs before every write of a metric document (a comptages day is ~2 MB of JSON), so the walk
 * keeps only the keys leading to the current value and builds a path only when it fails.
 */
export function assertStorable(doc: unknown, root = '$'): void {
  // Almost every document passes: one lean walk says so; the walk below, which keeps the path and
  // tells cycles from deep nesting, runs only to name what is wrong.
  if (quickCheck(doc, 0)) return;
  explain(doc, root);
}

/** Whether `value` passes every rule (a cycle shows as nesting past MAX_DOCUMENT_DEPTH). */
function quickCheck(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return wellFormed(value);
    case 'number': {
      // Finite, and 0 or a magnitude in [1e-130, 2^53 − 1] (every double beyond is an integer).
      const a = Math.abs(value);
      return value === 0 || (a >= MIN_NUMBER_MAGNITUDE && a <= Number.MAX_SAFE_INTEGER);
    }
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_DOCUMENT_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!quickCheck(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(value).length) return false;
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    if (!wellFormed(key) || !quickCheck(obj[key], depth + 1)) return false;
  }
  return true;
}

/** Throw UnstorableValueError for the first value of `doc` that breaks a rule. */
function explain(doc: unknown, root: string): void {
  const trail: (string | number)[] = [];
  const ancestors: object[] = []; // at most MAX_DOCUMENT_DEPTH: a list beats a Set here
  const fail = (message: string): never => {
    let path = root;
    for (const key of trail) path = childPath(path, key);
    throw new UnstorableValueError(path, message);
  };
  const visit = (value: unknown, depth: number): void => {
    switch (typeof value) {
      case 'string':
        if (!wellFormed(value)) fail('string holds a lone UTF-16 surrogate');
        return;
      case 'number':
        if (!Number.isFinite(value) || (value !== 0 && Math.abs(value) < MIN_NUMBER_MAGNITUDE) || (Number.isInteger(value) && !Number.isSafeInteger(value))) {
          let path = root;
          for (const key of trail) path = childPath(path, key);
          assertStorableNumber(value, path); // throws with the rule's own message
        }
        return;
      case 'boolean':
        return;
      case 'undefined':
        return fail('undefined is not storable (use null, or leave the key out)');
      case 'bigint':
        return fail('a bigint is not storable (use a number within ±(2^53 − 1), or a string)');
      case 'symbol':
      case 'function':
        return fail(`a ${typeof value} is not storable`);
    }
    if (value === null) return;
    const obj = value as object;
    if (depth >= MAX_DOCUMENT_DEPTH) fail(`nested deeper than ${MAX_DOCUMENT_DEPTH} levels`);
    if (ancestors.includes(obj)) fail('circular reference');
    ancestors.push(obj);
    if (Array.isArray(obj)) {
      // A hole reads as undefined: rejected there, like an explicit undefined.
      for (let i = 0; i < obj.length; i++) {
        trail.push(i);
        visit(obj[i], depth + 1);
        trail.pop();
      }
    } else if (isPlainObject(obj)) {
      if (Object.getOwnPropertySymbols(obj).length) fail('symbol-keyed properties are not storable');
      const keys = Object.keys(obj);
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        trail.push(key);
        if (!wellFormed(key)) fail('key holds a lone UTF-16 surrogate');
        visit((obj as Record<string, unknown>)[key], depth + 1);
        trail.pop();
      }
    } else {
      fail(`${describe(obj)} is not storable (only plain objects, arrays and JSON scalars are)`);
    }
    ancestors.pop();
  };
  visit(doc, 0);
}

/** Throw UnstorableValueError unless `bytes` is a Buffer (or another Uint8Array). */
export function assertStorableBytes(bytes: unknown, root = '$'): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new UnstorableValueError(root, 'expected a Buffer');
}
