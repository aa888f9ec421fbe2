/**
 * Where the next `;`, `"` or LF is: the one question a CSV record reader asks over and over. A
 * `StructuralCursor` answers it for one buffer, for positions that only move forward.
 *
 * Two implementations with the same answers (the tests compare them on every input they use):
 *  - with WebAssembly SIMD, the buffer is indexed in windows of `WINDOW` bytes: a small routine
 *    compares 32 bytes at a time against the three characters and stores one bit per byte, and
 *    `next` reads the bits (a few JavaScript operations per character found, nothing per other
 *    byte);
 *  - without it (e.g. `node --jitless`), three cached `indexOf` searches.
 */
import { assemble, I32, name, OPCODES, section, uleb, V128, vec, wasmApi } from './wasm-asm';

export interface StructuralCursor {
  /** Start over on `buf` (nothing of the previous buffer is kept). */
  reset(buf: Buffer): void;
  /** Offset of the first `;`, `"` or LF at or after `pos`; the buffer's length when there is none. */
  next(pos: number): number;
  /**
   * The offsets of the `;`, `"` and LF bytes from `pos` on, written to `out` up to and including
   * the first LF, or until `max` offsets or the end of the buffer; returns how many were written.
   * (One call per line instead of one per character.)
   */
  collect(pos: number, out: Int32Array, max: number): number;
}

const SEMI = 59;
const QUOTE = 34;
const LF = 10;

/**
 * `index(len, out)`: for each 32 bytes of memory [0, len), one 32-bit word at `out` with bit k
 * set when byte k is `;`, `"` or LF. Bytes past `len` in the last word are indexed too (the
 * caller ignores them): the memory has 32 spare bytes after the input.
 */
const INDEX_WAT = `
  i32.const 59  i8x16.splat  local.set $semiVec
  i32.const 34  i8x16.splat  local.set $quoteVec
  i32.const 10  i8x16.splat  local.set $lfVec
  block $done
    loop $words
      local.get $i  local.get $len  i32.ge_u  br_if $done
      local.get $i  v128.load  local.tee $v  local.get $semiVec  i8x16.eq
      local.get $v  local.get $quoteVec  i8x16.eq  v128.or
      local.get $v  local.get $lfVec  i8x16.eq  v128.or
      i8x16.bitmask  local.set $m
      local.get $i  i32.const 16  i32.add  v128.load  local.tee $v  local.get $semiVec  i8x16.eq
      local.get $v  local.get $quoteVec  i8x16.eq  v128.or
      local.get $v  local.get $lfVec  i8x16.eq  v128.or
      i8x16.bitmask  i32.const 16  i32.shl  local.get $m  i32.or  local.set $m
      local.get $out  local.get $i  i32.const 3  i32.shr_u  i32.add  ;; out + i / 8
      local.get $m  i32.store
      local.get $i  i32.const 32  i32.add  local.set $i
      br $words
    end
  end
`;
const INDEX_PARAMS = ['$len', '$out'];
const INDEX_I32_LOCALS = ['$i', '$m'];
const INDEX_V128_LOCALS = ['$v', '$semiVec', '$quoteVec', '$lfVec'];

/** Bytes indexed at a time: the window and its bits stay in the processor's cache. */
export const STRUCTURAL_WINDOW = 256 * 1024;

function indexModuleBytes(): Uint8Array {
  const code = assemble(INDEX_WAT, [...INDEX_PARAMS, ...INDEX_I32_LOCALS, ...INDEX_V128_LOCALS], []);
  const body = [...vec([[...uleb(INDEX_I32_LOCALS.length), I32], [...uleb(INDEX_V128_LOCALS.length), V128]]), ...code, ...OPCODES.end];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vec([[0x60, ...vec(INDEX_PARAMS.map(() => [I32])), ...vec([])]])), // type 0: (i32 i32) -> ()
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, 0x01]])), // memory import, at least 1 page
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(7, vec([[...name('index'), 0x00, 0]])), // export
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

/** Compiled once per process; null when WebAssembly SIMD is unavailable. */
let indexModule: object | null | undefined;

class SimdCursor implements StructuralCursor {
  private buf: Buffer = Buffer.alloc(0);
  private len = 0;
  /** The indexed window of `buf`: [winStart, winEnd), and its last word holding window bytes. */
  private winStart = 0;
  private winEnd = 0;
  private lastWord = -1;

  constructor(
    private readonly input: Buffer,
    private readonly words: Int32Array,
    private readonly index: (len: number, out: number) => void,
    private readonly outAddr: number,
  ) {}

  reset(buf: Buffer): void {
    this.buf = buf;
    this.len = buf.length;
    this.winStart = this.winEnd = 0;
    this.lastWord = -1;
  }

  next(pos: number): number {
    for (;;) {
      if (pos < this.winStart || pos >= this.winEnd) {
        if (pos >= this.len) return this.len;
        this.fill(pos);
      }
      const rel = pos - this.winStart;
      let w = rel >>> 5;
      let m = this.words[w] & (-1 << (rel & 31));
      while (m === 0 && w < this.lastWord) m = this.words[++w];
      if (m !== 0) {
        const at = this.winStart + (w << 5) + (31 - Math.clz32(m & -m));
        if (at < this.winEnd) return at;
      }
      pos = this.winEnd; // none left in this window
    }
  }

  collect(pos: number, out: Int32Array, max: number): number {
    const words = this.words;
    const buf = this.buf;
    let n = 0;
    for (;;) {
      if (pos < this.winStart || pos >= this.winEnd) {
        if (pos >= this.len) return n;
        this.fill(pos);
      }
      const base = this.winStart;
      const end = this.winEnd;
      const last = this.lastWord;
      const rel = pos - base;
      let w = rel >>> 5;
      let m = words[w] & (-1 << (rel & 31));
      for (;;) {
        while (m === 0 && w < last) m = words[++w];
        if (m === 0) break;
        const low = m & -m;
        const at = base + (w << 5) + (31 - Math.clz32(low));
        if (at >= end) break;
        m ^= low;
        out[n++] = at;
        if (n === max || buf[at] === LF) return n;
      }
      pos = end; // none left in this window
    }
  }

  private fill(pos: number): void {
    const n = Math.min(STRUCTURAL_WINDOW, this.len - pos);
    this.buf.copy(this.input, 0, pos, pos + n);
    this.index(n, this.outAddr);
    this.winStart = pos;
    this.winEnd = pos + n;
    this.lastWord = (n - 1) >>> 5;
  }
}

/** The same answers with `indexOf`: each character's next position is kept until passed. */
export class IndexOfCursor implements StructuralCursor {
  private buf: Buffer = Buffer.alloc(0);
  private len = 0;
  // For each character, `at` is its first position at or after `from` (len when none).
  private semiFrom = 0;
  private semiAt = -1;
  private quoteFrom = 0;
  private quoteAt = -1;
  private lfFrom = 0;
  private lfAt = -1;

  reset(buf: Buffer): void {
    this.buf = buf;
    this.len = buf.length;
    this.semiAt = this.quoteAt = this.lfAt = -1;
  }

  next(pos: number): number {
    if (pos >= this.len) return this.len;
    if (pos > this.semiAt || pos < this.semiFrom) {
      this.semiFrom = pos;
      this.semiAt = this.find(SEMI, pos);
    }
    if (pos > this.quoteAt || pos < this.quoteFrom) {
      this.quoteFrom = pos;
      this.quoteAt = this.find(QUOTE, pos);
    }
    if (pos > this.lfAt || pos < this.lfFrom) {
      this.lfFrom = pos;
      this.lfAt = this.find(LF, pos);
    }
    return Math.min(this.semiAt, this.quoteAt, this.lfAt);
  }

  collect(pos: number, out: Int32Array, max: number): number {
    let n = 0;
    while (n < max) {
      const at = this.next(pos);
      if (at >= this.len) break;
      out[n++] = at;
      if (this.buf[at] === LF) break;
      pos = at + 1;
    }
    return n;
  }

  private find(c: number, pos: number): number {
    const i = this.buf.indexOf(c, pos);
    return i < 0 ? this.len : i;
  }
}

/**
 * A cursor using WebAssembly SIMD when the runtime has it (each has its own 0.3 MB memory), else
 * an `IndexOfCursor`. `simd: false` forces the latter (the tests compare both).
 */
export function createStructuralCursor(opts: { simd?: boolean } = {}): StructuralCursor {
  if (opts.simd === false) return new IndexOfCursor();
  if (indexModule === undefined) {
    const bytes = indexModuleBytes();
    indexModule = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
  }
  if (!indexModule || !wasmApi) return new IndexOfCursor();
  // Input window, 32 spare bytes (the last 32-byte step may read past the input), then the words.
  const outAddr = STRUCTURAL_WINDOW + 32;
  const bytes = outAddr + STRUCTURAL_WINDOW / 8 + 4;
  const pages = Math.ceil(bytes / 65536);
  const memory = new wasmApi.Memory({ initial: pages, maximum: pages });
  const instance = new wasmApi.Instance(indexModule, { env: { mem: memory } });
  return new SimdCursor(
    Buffer.from(memory.buffer, 0, STRUCTURAL_WINDOW + 32),
    new Int32Array(memory.buffer, outAddr, STRUCTURAL_WINDOW / 32 + 1),
    instance.exports.index as (len: number, out: number) => void,
    outAddr,
  );
}
