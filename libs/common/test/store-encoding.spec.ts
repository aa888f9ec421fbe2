/**
 * The pure parts of the database stores, without a server: the validation boundary, the document
 * splitter, the DynamoDB attribute codec (with its key-order record) and the MongoDB codec
 * checked against the real BSON serializer.
 */
import * as fc from 'fast-check';
import { BSON } from 'mongodb';
import { assertStorable, DocumentTooLargeError, joinDoc, splitDoc, SplitPlan, storedSize, UnstorableValueError } from '@cityflow/common';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { decodeValue, dynamoSizeModel, encodeValue, itemSize, KeyOrderReader, KeyOrderWriter } from '../src/store/dynamo-codec';
import { bsonSizeModel, fromMongoValue, toMongoValue } from '../src/store/mongo-codec';
import { originalKey, storedKey } from '../src/store/stored-keys';
import { DynamoBatchWriter } from '../src/store/dynamo-batch-writer';
import type { SizeModel } from '../src/store/doc-split';
import { largeComptagesDay, SampleDocs, sampleDocs, sampleMetrics } from './store-fixtures';

let docs: SampleDocs;
beforeAll(async () => {
  docs = await sampleDocs();
}, 120_000);

const json = (v: unknown) => JSON.stringify(v);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Storable JSON values: finite numbers within the rules, any strings/keys without lone surrogates. */
const storableValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1.5, 0.1 + 0.2, 1e-7, Number.MAX_SAFE_INTEGER),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }).filter((n) => n === 0 || Math.abs(n) >= 1e-130),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.array(tie('value'), { maxLength: 8 }),
    fc.dictionary(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('', '$x', 'a.b', '%', '%41', '__proto__', '10', '2', '\u0000')), tie('value'), { maxKeys: 8 }),
  ),
})).value;

/** Check the sizes a plan promises, under the model it was made with. */
function expectWithin(plan: SplitPlan, model: SizeModel, headBudget: number, pageBudget: number): void {
  const refs = plan.splits.reduce((s, r) => s + model.splitRef(r.path), 0);
  expect(storedSize(plan.head, model) + refs).toBeLessThanOrEqual(headBudget);
  for (const page of plan.pages) {
    const kind = plan.splits[page.split].kind;
    const used = page.entries.reduce<number>((s, e, i) => {
      const [k, v] = kind === 'array' ? [i, e] : (e as [string, unknown]);
      return s + model.pageEntry(kind, k, storedSize(v, model));
    }, 0);
    expect(used).toBeLessThanOrEqual(pageBudget);
  }
}

/** Reverse the key order of every map, as DynamoDB may return them. */
function reverseMaps(av: AttributeValue): AttributeValue {
  if (av.M) {
    const M: Record<string, AttributeValue> = {};
    for (const k of Object.keys(av.M).reverse()) Object.defineProperty(M, k, { value: reverseMaps(av.M[k]), enumerable: true, writable: true, configurable: true });
    return { M };
  }
  if (av.L) return { L: av.L.map(reverseMaps) };
  return av;
}

/** Store a value's head and pages as DynamoDB attributes (maps come back reversed) and rebuild it. */
function dynamoRoundTrip(doc: unknown, headBudget: number, pageBudget: number): unknown {
  const plan = splitDoc(doc, dynamoSizeModel, { headBudget, pageBudget });
  expectWithin(plan, dynamoSizeModel, headBudget, pageBudget);
  const through = (value: unknown) => {
    const w = new KeyOrderWriter();
    const av = reverseMaps(encodeValue(value, w));
    const r = new KeyOrderReader(w.toText(), 'test');
    const out = decodeValue(av, r, 'test');
    r.assertDone();
    return out;
  };
  return joinDoc(
    through(plan.head),
    clone(plan.splits),
    plan.pages.map((p) => ({ split: p.split, entries: through(p.entries) as unknown[] })),
    'test',
  );
}

/** The same through real BSON bytes: toMongoValue, split, serialize, deserialize, join, fromMongoValue. */
function bsonRoundTrip(doc: unknown, headBudget: number, pageBudget: number): { doc: unknown; sizes: number[] } {
  const plan = splitDoc(toMongoValue(doc), bsonSizeModel, { headBudget, pageBudget });
  expectWithin(plan, bsonSizeModel, headBudget, pageBudget);
  const headBytes = BSON.serialize({ value: plan.head, splits: plan.splits });
  const pageBytes = plan.pages.map((p) => BSON.serialize({ split: p.split, entries: p.entries }));
  const head = BSON.deserialize(headBytes);
  const pages = pageBytes.map((b) => BSON.deserialize(b) as { split: number; entries: unknown[] });
  const joined = joinDoc(head.value, head.splits, pages, 'test');
  return { doc: fromMongoValue(joined, 'test'), sizes: [headBytes.length, ...pageBytes.map((b) => b.length)] };
}

describe('assertStorable (the validation boundary)', () => {
  it('accepts every document the real pipeline writes', () => {
    for (const m of docs.metrics) expect(() => assertStorable(m.doc)).not.toThrow();
    expect(() => assertStorable(docs.report)).not.toThrow();
    for (const s of docs.summaries) expect(() => assertStorable(s.summary)).not.toThrow();
  });

  it('names the offending value by its JSON path', () => {
    const at = (doc: unknown) => {
      try {
        assertStorable(doc);
      } catch (e) {
        expect(e).toBeInstanceOf(UnstorableValueError);
        return [(e as UnstorableValueError).name, (e as UnstorableValueError).path];
      }
      return null;
    };
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).back = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 31; i++) deep = [deep];
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 3];
    expect(at({ a: [{ 'b c': NaN }] })).toEqual(['UnstorableValueError', '$.a[0]["b c"]']);
    expect(at(cyclic)).toEqual(['UnstorableValueError', '$.a.back']);
    expect(at({ deep })).toEqual(['UnstorableValueError', `$.deep${'[0]'.repeat(29)}`]);
    expect(at({ sparse })).toEqual(['UnstorableValueError', '$.sparse[1]']);
    expect(at({ [Symbol('k')]: 1 })).toEqual(['UnstorableValueError', '$']);
    expect(at({ s: new String('x') })).toEqual(['UnstorableValueError', '$.s']);
    expect(at({ b: Buffer.from('x') })).toEqual(['UnstorableValueError', '$.b']);
    expect(at({ ['\uDC00']: 1 })).toEqual(['UnstorableValueError', '$["\\udc00"]']);
    expect(at(undefined)).toEqual(['UnstorableValueError', '$']);
    expect(at({ ok: [null, true, 'é', 0, -0, 1e-130, -(2 ** 53 - 1)], proto: Object.create(null) })).toBeNull();
  });
});

describe('stored keys', () => {
  it('escape exactly the keys a database cannot take, reversibly', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('', '$', '$a', '.', 'a.b', '%', '%%', '%2E', '__proto__', '\u0000')), (k) => {
        const s = storedKey(k);
        expect(originalKey(s)).toBe(k);
        expect(s).not.toBe('');
        expect(s).not.toBe('__proto__');
        expect(s.startsWith('$')).toBe(false);
        expect(/[.\u0000]/.test(s)).toBe(false);
      }),
      { numRuns: 2000 },
    );
    expect(storedKey('metrics')).toBe('metrics');
    expect(storedKey('Pré-saturé')).toBe('Pré-saturé');
  });
});

describe('splitDoc / joinDoc', () => {
  it('round-trips any storable value through DynamoDB attributes with shuffled maps, within budgets', () => {
    fc.assert(
      fc.property(storableValue, fc.integer({ min: 40, max: 400 }), fc.integer({ min: 40, max: 300 }), (doc, headBudget, pageBudget) => {
        let back: unknown;
        try {
          back = dynamoRoundTrip(doc, headBudget, pageBudget);
        } catch (e) {
          // Allowed only when some single value really is larger than a page or the head.
          expect(e).toBeInstanceOf(DocumentTooLargeError);
          return;
        }
        expect(json(back)).toBe(json(doc));
        expect(back).toEqual(clone(doc));
      }),
      { numRuns: 1500 },
    );
  });

  it('round-trips any storable value through real BSON bytes, within budgets', () => {
    fc.assert(
      fc.property(storableValue, fc.integer({ min: 60, max: 500 }), fc.integer({ min: 60, max: 400 }), (doc, headBudget, pageBudget) => {
        let back: { doc: unknown };
        try {
          back = bsonRoundTrip(doc, headBudget, pageBudget);
        } catch (e) {
          expect(e).toBeInstanceOf(DocumentTooLargeError);
          return;
        }
        expect(json(back.doc)).toBe(json(doc));
      }),
      { numRuns: 1500 },
    );
  });

  it('splits an outer container after an inner one, and joins them back in reverse order', () => {
    const a: Record<string, unknown> = { big: Array.from({ length: 50 }, (_, i) => `item-${i}-${'x'.repeat(20)}`) };
    for (let i = 0; i < 30; i++) a[`k${i}`] = 'y'.repeat(10);
    const doc = { a, tail: 1 };
    const plan = splitDoc(doc, dynamoSizeModel, { headBudget: 200, pageBudget: 200 });
    expect(plan.splits.map((s) => s.path)).toEqual([['a', 'big'], ['a']]);
    expect(json(dynamoRoundTrip(doc, 200, 200))).toBe(json(doc));
    expect(json(bsonRoundTrip(doc, 250, 250).doc)).toBe(json(doc));
    // The input is left as it was.
    expect((doc.a.big as string[]).length).toBe(50);
  });

  it('names the value that cannot be made to fit', () => {
    const doc = { date: 'd', a: { b: ['ok', 'x'.repeat(1000)], c: [1, 2, 3] } };
    expect(() => splitDoc(doc, dynamoSizeModel, { headBudget: 500, pageBudget: 500 })).toThrow(
      expect.objectContaining({ name: 'DocumentTooLargeError', path: '$.a.b[1]' }) as unknown as Error,
    );
    expect(() => splitDoc('x'.repeat(600), dynamoSizeModel, { headBudget: 500, pageBudget: 500 })).toThrow(DocumentTooLargeError);
  });

  it('keeps a small document whole', () => {
    const doc = sampleMetrics(docs, 'weather');
    const plan = splitDoc(doc, dynamoSizeModel, { headBudget: 350 * 1024, pageBudget: 350 * 1024 });
    expect(plan.splits).toEqual([]);
    expect(plan.head).toBe(doc);
  });

  it('rejects parts that do not match their head', () => {
    const doc = { list: Array.from({ length: 40 }, (_, i) => `entry ${i}`) };
    const plan = splitDoc(doc, dynamoSizeModel, { headBudget: 100, pageBudget: 100 });
    expect(plan.pages.length).toBeGreaterThan(1);
    expect(() => joinDoc(clone(plan.head), plan.splits, plan.pages.slice(1), 'k')).toThrow(expect.objectContaining({ name: 'InconsistentDocumentError' }) as unknown as Error);
    expect(() => joinDoc({ other: [] }, plan.splits, plan.pages, 'k')).toThrow(expect.objectContaining({ name: 'InconsistentDocumentError' }) as unknown as Error);
    expect(() => joinDoc({ list: ['x'] }, plan.splits, plan.pages, 'k')).toThrow(expect.objectContaining({ name: 'InconsistentDocumentError' }) as unknown as Error);
  });
});

describe('DynamoDB codec and sizes', () => {
  it('writes numbers as their shortest text and reads the same doubles; -0 as 0', () => {
    const values = [0.1 + 0.2, 1e-7, 1e-130, -0, 2 ** 53 - 1, -(2 ** 53 - 1), 123.456, 5e-7];
    const w = new KeyOrderWriter();
    const av = encodeValue(values, w);
    expect(av.L!.map((v) => v.N)).toEqual(['0.30000000000000004', '1e-7', '1e-130', '0', '9007199254740991', '-9007199254740991', '123.456', '5e-7']);
    // DynamoDB answers numbers in plain notation: they parse to the same doubles.
    expect(Number('0.0000001')).toBe(1e-7);
    const back = decodeValue({ L: av.L!.map((v) => ({ N: v.N === '1e-7' ? '0.0000001' : v.N! })) }, new KeyOrderReader(w.toText(), 't'), 't') as number[];
    expect(back).toEqual([0.30000000000000004, 1e-7, 1e-130, 0, 2 ** 53 - 1, -(2 ** 53 - 1), 123.456, 5e-7]);
    expect(Object.is(back[3], 0)).toBe(true);
  });

  it('interns key orders: a comptages day stores each arc shape once', () => {
    const doc = sampleMetrics(docs, 'comptages') as { metrics: object[] };
    const w = new KeyOrderWriter();
    encodeValue(doc.metrics, w);
    const ko = JSON.parse(w.toText()!) as { s: string[][]; o: number[] };
    expect(ko.o.length).toBeGreaterThanOrEqual(doc.metrics.length);
    expect(ko.s.length).toBeLessThan(10);
  });

  it('the size model bounds the real item size of real documents, key order included', () => {
    for (const doc of [...docs.metrics.map((m) => m.doc), docs.report, largeComptagesDay(docs, 500)]) {
      const w = new KeyOrderWriter();
      const av = encodeValue(doc, w);
      const real = itemSize({ v: av, key_order: { S: w.toText() ?? '' } });
      const modelled = storedSize(doc, dynamoSizeModel);
      expect(modelled).toBeGreaterThanOrEqual(real - 32);
      expect(modelled).toBeLessThan(real * 2);
    }
  });

  it('splits a full-size comptages day on its arcs, into parts within the item budget', () => {
    const big = largeComptagesDay(docs);
    const budget = 350 * 1024;
    const plan = splitDoc(big, dynamoSizeModel, { headBudget: budget - 1024, pageBudget: budget - 1024 });
    expect(plan.splits.map((s) => s.path)).toEqual([['metrics']]);
    expect(plan.pages.length).toBeGreaterThanOrEqual(6);
    for (const page of plan.pages) {
      const w = new KeyOrderWriter();
      const av = encodeValue(page.entries, w);
      expect(itemSize({ entries: av, key_order: { S: w.toText() ?? '' } })).toBeLessThanOrEqual(budget);
    }
    const ref = sampleMetrics(docs, 'referentiel');
    expect(splitDoc(ref, dynamoSizeModel, { headBudget: budget - 1024, pageBudget: budget - 1024 }).splits.map((s) => s.path)).toEqual([['mapping']]);
  });
});

describe('MongoDB codec and sizes', () => {
  it('the BSON size model matches the serializer', () => {
    for (const doc of [...docs.metrics.map((m) => m.doc), docs.report]) {
      const stored = toMongoValue(doc);
      const real = BSON.calculateObjectSize({ v: stored }) - 4 - 1 - 3;
      const modelled = storedSize(stored, bsonSizeModel);
      expect(modelled).toBeGreaterThanOrEqual(real);
      expect(modelled).toBeLessThan(real * 1.5);
    }
  });

  it('keeps key order and numbers through BSON; -0 becomes 0; odd keys are escaped and restored', () => {
    const doc = JSON.parse('{"b":1,"a":-0,"$x":{"a.b":[0.30000000000000004]},"":null,"__proto__":{"z":1,"y":2},"10":1,"2":2}') as unknown;
    const stored = toMongoValue(doc) as Record<string, unknown>;
    expect(Object.keys(stored)).toEqual(['2', '10', 'b', 'a', '%%24x', '%', '%__proto__']);
    const back = fromMongoValue(BSON.deserialize(BSON.serialize({ v: stored })).v, 't');
    expect(json(back)).toBe(json(doc));
    expect(Object.is((back as { a: number }).a, 0)).toBe(true);
  });

  it('splits a document over 16 MB into BSON documents under 16 MB, and joins it back', () => {
    const big = largeComptagesDay(docs, 28_000);
    expect(json(big).length).toBeGreaterThan(16 * 1024 * 1024);
    const budget = 12 * 1024 * 1024;
    const { doc, sizes } = bsonRoundTrip(big, budget - 4096, budget - 4096);
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    for (const s of sizes) expect(s).toBeLessThan(16 * 1024 * 1024);
    expect(json(doc)).toBe(json(big));
  }, 120_000);
});

describe('DynamoBatchWriter backoff', () => {
  it('waits between half and all of min(5 s, base × 2^(n−1)), so waits grow until the cap', () => {
    const low = new DynamoBatchWriter({} as never, { maxAttempts: 10, retryBaseMs: 50, random: () => 0 });
    const high = new DynamoBatchWriter({} as never, { maxAttempts: 10, retryBaseMs: 50, random: () => 0.999999 });
    expect([1, 2, 3, 4, 8, 12].map((n) => low.backoffMs(n))).toEqual([25, 50, 100, 200, 2500, 2500]);
    expect([1, 2, 3, 4, 8, 12].map((n) => high.backoffMs(n))).toEqual([50, 100, 200, 400, 5000, 5000]);
    // Below the cap the next ceiling is twice this one: its shortest wait is this one's longest.
    for (let n = 1; n < 7; n++) expect(low.backoffMs(n + 1)).toBeGreaterThanOrEqual(high.backoffMs(n));
  });
});
