/**
 * The structural cursor (next `;`, `"` or LF): the WebAssembly SIMD one and the `indexOf` one give
 * the same answers, across window boundaries, at buffer ends and on forward jumps; and the
 * comptages scanner gives the same partials with either, and with the exact path, on a real
 * export fed in blocks of awkward sizes.
 */
import * as fs from 'node:fs';
import fc from 'fast-check';
import { fixture } from '@cityflow/testing';
import { createStructuralCursor, IndexOfCursor, STRUCTURAL_WINDOW } from '../src/csv/structural-index';
import { ComptagesChunkScanner } from '../src/sources/comptages';
import { testFileRef } from './helpers';

const simd = createStructuralCursor();

/** Every answer of `next` walking the buffer (jumps of `skips[i]` extra bytes after answer i). */
function walk(c: ReturnType<typeof createStructuralCursor>, buf: Buffer, skips: number[]): number[] {
  c.reset(buf);
  const out: number[] = [];
  let pos = 0;
  for (let i = 0; i < 100_000; i++) {
    const at = c.next(pos);
    out.push(at);
    if (at >= buf.length) break;
    pos = at + 1 + (skips.length ? skips[i % skips.length] : 0);
  }
  return out;
}

/** Every `collect` result line by line. */
function lines(c: ReturnType<typeof createStructuralCursor>, buf: Buffer, max: number): number[][] {
  c.reset(buf);
  const marks = new Int32Array(max);
  const out: number[][] = [];
  let pos = 0;
  for (;;) {
    const n = c.collect(pos, marks, max);
    out.push(Array.from(marks.subarray(0, n)));
    if (n === 0) break;
    pos = marks[n - 1] + 1;
  }
  return out;
}

const byteArb = fc.constantFrom(59, 34, 10, 13, 97, 48, 0xc3, 0xa9);

describe('structural cursor', () => {
  it('uses WebAssembly SIMD on this runtime', () => {
    expect(simd).not.toBeInstanceOf(IndexOfCursor);
  });

  it('SIMD and indexOf answers are equal on random bytes, with forward jumps', () => {
    fc.assert(
      fc.property(fc.array(byteArb, { maxLength: 3000 }), fc.array(fc.nat(70), { maxLength: 5 }), (bytes, skips) => {
        const buf = Buffer.from(bytes);
        expect(walk(simd, buf, skips)).toEqual(walk(new IndexOfCursor(), buf, skips));
      }),
      { numRuns: 500 },
    );
  });

  it('collect gives the same marks line by line, whatever the limit', () => {
    fc.assert(
      fc.property(fc.array(byteArb, { maxLength: 2000 }), fc.integer({ min: 1, max: 40 }), (bytes, max) => {
        const buf = Buffer.from(bytes);
        expect(lines(simd, buf, max)).toEqual(lines(new IndexOfCursor(), buf, max));
      }),
      { numRuns: 500 },
    );
  });

  it('is exact across window boundaries and on buffers of several windows', () => {
    for (const size of [STRUCTURAL_WINDOW - 1, STRUCTURAL_WINDOW, STRUCTURAL_WINDOW + 1, 3 * STRUCTURAL_WINDOW + 17]) {
      const buf = Buffer.alloc(size, 'a');
      // Marks on both sides of every window edge, and a long stretch with none.
      for (let w = 0; w <= size; w += STRUCTURAL_WINDOW) for (const d of [-33, -32, -2, -1, 0, 1, 31, 32]) if (w + d >= 0 && w + d < size) buf[w + d] = [59, 34, 10][(w + d) % 3];
      for (let i = 0; i < 2000; i++) buf[(i * 7919) % Math.min(size, 100_000)] = 59;
      const expected = walk(new IndexOfCursor(), buf, []);
      expect(walk(simd, buf, [])).toEqual(expected);
      expect(walk(simd, buf, [0, 5, 1000, STRUCTURAL_WINDOW])).toEqual(walk(new IndexOfCursor(), buf, [0, 5, 1000, STRUCTURAL_WINDOW]));
      expect(lines(simd, buf, 64)).toEqual(lines(new IndexOfCursor(), buf, 64));
    }
  });

  it('answers the buffer length when nothing is left, and starts over on reset', () => {
    const c = createStructuralCursor();
    c.reset(Buffer.from('abc;def'));
    expect([c.next(0), c.next(4), c.next(7), c.next(100)]).toEqual([3, 7, 7, 7]);
    c.reset(Buffer.from('"x'));
    expect([c.next(0), c.next(1)]).toEqual([0, 2]);
  });
});

describe('comptages scanner: SIMD, indexOf and exact paths agree on a real export fed in blocks', () => {
  const file = fixture('real/comptages-routiers-permanents/louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv');
  const bytes = fs.readFileSync(file);
  // Four copies one after the other (header kept once): several windows of the SIMD index.
  const body = bytes.subarray(bytes.indexOf(10) + 1);
  const big = Buffer.concat([bytes, body, body, body]);

  const scan = (opts: { fastPath?: boolean; simd?: boolean }, block: number) => {
    const scanner = new ComptagesChunkScanner({ file: testFileRef('comptages', 'batch/c.csv', big.length), range: { index: 0, start: 0, end: big.length } }, opts);
    let carry = Buffer.alloc(0);
    for (let at = 0; at < big.length; at += block) {
      const buf = Buffer.concat([carry, big.subarray(at, Math.min(big.length, at + block))]);
      const final = at + block >= big.length;
      const used = scanner.push(buf, final);
      carry = buf.subarray(used);
    }
    return scanner.finish();
  };

  it.each([997, 65_536, STRUCTURAL_WINDOW + 3, 1 << 22])('blocks of %d bytes', (block) => {
    const exact = scan({ fastPath: false }, block);
    expect(exact.quality.accepted).toBeGreaterThan(4000);
    expect(scan({ simd: true }, block)).toEqual(exact);
    expect(scan({ simd: false }, block)).toEqual(exact);
  });
});
