/**
 * A tiny WebAssembly assembler for the CSV routines written as WebAssembly text in this folder
 * (`line-skipper.ts`, `structural-index.ts`): the instructions they use, the module sections they
 * need, and the flat instruction listing they are written in. No build step, no dependency.
 */

/** Binary encodings of the instructions the routines use (SIMD ones after the 0xfd prefix). */
export const OPCODES: Record<string, number[]> = {
  block: [0x02, 0x40], // 0x40: the block has no result
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: [0x0c],
  br_if: [0x0d],
  'local.get': [0x20],
  'local.set': [0x21],
  'local.tee': [0x22],
  'global.set': [0x24],
  'i32.load8_u': [0x2d, 0, 0], // alignment 1, offset 0
  'i32.const': [0x41],
  'i32.eqz': [0x45],
  'i32.eq': [0x46],
  'i32.lt_u': [0x49],
  'i32.ge_u': [0x4f],
  'i32.ctz': [0x68],
  'i32.popcnt': [0x69],
  'i32.add': [0x6a],
  'i32.sub': [0x6b],
  'i32.and': [0x71],
  'i32.or': [0x72],
  'i32.xor': [0x73],
  'i32.shl': [0x74],
  'i32.shr_u': [0x76],
  'i32.store': [0x36, 2, 0], // alignment 4, offset 0
  'v128.load': [0xfd, 0x00, 0, 0], // alignment 1, offset 0
  'i8x16.splat': [0xfd, 0x0f],
  'i8x16.eq': [0xfd, 0x23],
  'i8x16.bitmask': [0xfd, 0x64],
  'v128.or': [0xfd, 0x50],
};
export const I32 = 0x7f;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    const b = n & 0x7f;
    n >>>= 7;
    out.push(n ? b | 0x80 : b);
  } while (n);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/**
 * Encode a flat instruction listing: `;;` comments, `block $l`/`loop $l`/`if` … `end`,
 * `br $l`/`br_if $l` to an enclosing label, `local.* $x`, `global.set $g`, `i32.const n`.
 */
export function assemble(wat: string, locals: string[], globals: string[]): number[] {
  const tokens = wat.replace(/;;[^\n]*/g, '').split(/\s+/).filter(Boolean);
  const out: number[] = [];
  const labels: (string | null)[] = [];
  const indexOf = (list: string[], id: string): number => {
    const i = list.lastIndexOf(id);
    if (i < 0) throw new Error(`unknown identifier ${id}`);
    return i;
  };
  for (let t = 0; t < tokens.length; t++) {
    const op = tokens[t];
    const code = OPCODES[op];
    if (!code) throw new Error(`unknown instruction ${op}`);
    out.push(...code);
    if (op === 'block' || op === 'loop') labels.push(tokens[++t]);
    else if (op === 'if') labels.push(null);
    else if (op === 'end') labels.pop();
    else if (op === 'br' || op === 'br_if') out.push(labels.length - 1 - indexOf(labels as string[], tokens[++t]));
    else if (op.startsWith('local.')) out.push(...uleb(indexOf(locals, tokens[++t])));
    else if (op === 'global.set') out.push(...uleb(indexOf(globals, tokens[++t])));
    else if (op === 'i32.const') out.push(...sleb(Number(tokens[++t])));
  }
  if (labels.length) throw new Error('unbalanced blocks');
  return out;
}

/** The few members of the WebAssembly JS API used here (the project's `lib` has no DOM types). */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
}
export const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

