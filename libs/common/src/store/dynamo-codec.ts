/**
 * JSON documents ⇄ DynamoDB attribute values, with their key order.
 *
 * Numbers are written as `String(n)` and read with `Number(text)`: a validated number (see
 * storable.ts) has at most 17 significant digits, DynamoDB keeps 38, so the same double comes
 * back (0.1 + 0.2 is stored as 0.30000000000000004). `-0` is written "0". Reads give plain numbers,
 * never the strings or Decimals of the old system (B24).
 *
 * Key order: DynamoDB maps do not keep the order of their keys, and the API must answer the same
 * bytes whatever the backend. Every stored value (a head or a part) therefore carries a `key_order`
 * attribute: JSON `{"s": shapes, "o": order}` where `shapes` lists each distinct key sequence once
 * (interned: the ~3,500 arcs of a comptages day share one) and `order` gives, for every object of
 * two keys or more, in depth-first pre-order (an object before its children, children in the
 * object's own order), the index of its shape. Reading walks the value the same way, checks that
 * each map has exactly its shape's keys and rebuilds the object in that order. Objects of zero or
 * one key need no entry.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ContainerKind, PathStep, SizeModel } from './doc-split';
import { InconsistentDocumentError } from './store-errors';
import { originalKey, setOwn, storedKey } from './stored-keys';

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
/** Upper bound of DynamoDB's size of a number (1 byte per two significant digits, plus 1), with a byte of margin. */
const numberSize = (text: string) => Math.ceil(text.replace(/[^0-9]/g, '').length / 2) + 2;

/** Collects the key order of the objects of one stored value. */
export class KeyOrderWriter {
  private readonly shapes: string[][] = [];
  private readonly index = new Map<string, number>();
  private readonly order: number[] = [];

  add(keys: string[]): void {
    const id = JSON.stringify(keys);
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.shapes.length;
      this.shapes.push(keys);
      this.index.set(id, i);
    }
    this.order.push(i);
  }

  /** The `key_order` attribute text, or undefined when no object needs one. */
  toText(): string | undefined {
    return this.order.length ? JSON.stringify({ s: this.shapes, o: this.order }) : undefined;
  }
}

/**
 * Replays a `key_order` attribute while decoding. Without one (a value with no object of two keys
 * or more, or an item written by the old system), maps keep the order DynamoDB returns.
 */
export class KeyOrderReader {
  private readonly shapes: string[][] = [];
  private readonly order: number[] = [];
  private readonly strict: boolean;
  private next = 0;

  constructor(
    text: string | undefined,
    private readonly key: string,
  ) {
    this.strict = text !== undefined;
    if (text === undefined) return;
    let parsed: { s?: unknown; o?: unknown };
    try {
      parsed = JSON.parse(text) as { s?: unknown; o?: unknown };
    } catch {
      throw new InconsistentDocumentError(key, 'key_order is not JSON');
    }
    if (!Array.isArray(parsed.s) || !Array.isArray(parsed.o)) throw new InconsistentDocumentError(key, 'key_order has no shapes/order');
    this.shapes = parsed.s as string[][];
    this.order = parsed.o as number[];
  }

  /** The original keys, in order, of the next map of two keys or more (given its stored keys). */
  shapeFor(mapKeys: string[]): string[] {
    if (!this.strict) return mapKeys.map(originalKey);
    const i = this.order[this.next++];
    const shape = i === undefined ? undefined : this.shapes[i];
    if (!Array.isArray(shape) || shape.length !== mapKeys.length) throw new InconsistentDocumentError(this.key, 'key_order does not match the stored maps');
    const present = new Set(mapKeys);
    for (const k of shape) if (!present.has(storedKey(k))) throw new InconsistentDocumentError(this.key, `key_order names ${JSON.stringify(k)}, absent from its map`);
    return shape;
  }

  /** Every recorded object was visited: a shorter walk means the value does not match its order. */
  assertDone(): void {
    if (this.next !== this.order.length) throw new InconsistentDocumentError(this.key, 'key_order lists more objects than the value holds');
  }
}

/** A validated JSON value as a DynamoDB attribute value, recording its key order. */
export function encodeValue(value: unknown, order: KeyOrderWriter): AttributeValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      return { N: String(value) };
    case 'boolean':
      return { BOOL: value };
  }
  if (Array.isArray(value)) return { L: value.map((v) => encodeValue(v, order)) };
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length >= 2) order.add(keys);
  const M: Record<string, AttributeValue> = {};
  for (const k of keys) setOwn(M, storedKey(k), encodeValue(obj[k], order));
  return { M };
}

/** An attribute value written by encodeValue, back to JSON, objects in their recorded key order. */
export function decodeValue(av: AttributeValue, order: KeyOrderReader, key: string): unknown {
  if (av.NULL) return null;
  if (av.S !== undefined) return av.S;
  if (av.BOOL !== undefined) return av.BOOL;
  if (av.N !== undefined) {
    const n = Number(av.N);
    if (!Number.isFinite(n)) throw new InconsistentDocumentError(key, `stored number ${av.N} is not finite`);
    return n;
  }
  if (av.L) return av.L.map((v) => decodeValue(v, order, key));
  if (av.M) {
    const stored = Object.keys(av.M);
    const keys = stored.length >= 2 ? order.shapeFor(stored) : stored.map(originalKey);
    const out: Record<string, unknown> = {};
    for (const k of keys) setOwn(out, k, decodeValue(av.M[storedKey(k)], order, key));
    return out;
  }
  throw new InconsistentDocumentError(key, `unexpected attribute type ${Object.keys(av).join(',')}`);
}

/**
 * DynamoDB's item size rules (attribute names + values; a list or map costs 3 bytes plus 1 per
 * element), as an upper bound. Used to check every item before it is sent.
 */
export function attributeSize(av: AttributeValue): number {
  if (av.S !== undefined) return utf8(av.S);
  if (av.N !== undefined) return numberSize(av.N);
  if (av.B !== undefined) return av.B.length;
  if (av.BOOL !== undefined || av.NULL !== undefined) return 1;
  if (av.L) return av.L.reduce((s, v) => s + 1 + attributeSize(v), 3);
  if (av.M) return Object.entries(av.M).reduce((s, [k, v]) => s + 1 + utf8(k) + attributeSize(v), 3);
  throw new Error(`attribute type ${Object.keys(av).join(',')} is not sized`);
}

export function itemSize(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, av] of Object.entries(item)) size += utf8(name) + attributeSize(av);
  return size;
}

/**
 * Sizes for the splitter. Pessimistic about key order: an object of two keys or more is counted
 * as if its shape were not shared (its keys once more, quoted, plus its order slot), so a head or
 * page never outgrows its budget once its `key_order` attribute is added.
 */
export const dynamoSizeModel: SizeModel = {
  scalar(value) {
    if (typeof value === 'string') return utf8(value);
    if (typeof value === 'number') return numberSize(String(value));
    return 1;
  },
  container(kind: ContainerKind, count: number) {
    return 3 + (kind === 'object' && count >= 2 ? 12 : 0);
  },
  entry(kind: ContainerKind, key: PathStep, valueSize: number, count: number) {
    if (kind === 'array') return 1 + valueSize;
    const k = key as string;
    return 1 + utf8(storedKey(k)) + valueSize + (count >= 2 ? utf8(JSON.stringify(k)) + 1 : 0);
  },
  pageEntry(kind: ContainerKind, key: PathStep, valueSize: number) {
    // An array item, or an L of [S key, value].
    return kind === 'array' ? 1 + valueSize : 1 + 3 + 1 + utf8(key as string) + 1 + valueSize;
  },
  splitRef(path: PathStep[]) {
    return utf8(JSON.stringify(path)) + 48;
  },
};
