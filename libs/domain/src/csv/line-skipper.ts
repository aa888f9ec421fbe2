/**
 * Plain-line skipper for the chunk planner (`plan.ts`): a small WebAssembly SIMD routine that
 * walks 16 bytes at a time over lines that are certainly one record each, so the planner only
 * calls the exact `readRecordAt` for the other lines. The routine is written below as WebAssembly
 * text and assembled to bytes by the few lines after it (no build step, no dependency). Without
 * WebAssembly SIMD (e.g. `node --jitless`) `createLineSkipper` returns null and the planner uses
 * `readRecordAt` alone; the tests run both ways and compare.
 */

import { assemble, I32, OPCODES, section, uleb, V128, vec, name, wasmApi } from './wasm-asm';

/**
 * `skip(p, len, max)` takes plain lines from `p` (a record start) while they are complete in
 * `[p, len)`: terminated by LF, not blank (empty or a lone CR), with an even number of quote bytes.
 * It stops at the first other line, at the first line not terminated before `len`, or after `max`
 * lines, and returns the number of lines taken; `end()` is then the offset reached (the start of
 * the first line not taken).
 *
 * For such a line `readRecordAt` (plan mode, blank lines skipped) always returns one record of one
 * line ending just past the LF: with an even quote count no quoted field can stay open, and an
 * over-long line is a one-line `record_too_large` record, which the planner counts the same way.
 */
export interface LineSkipper {
  /** The read buffer: a view of the routine's memory. */
  buf: Buffer;
  skip(p: number, len: number, max: number): number;
  end(): number;
}

/**
 * The routine in WebAssembly text, one instruction after another (the `assemble` function below
 * accepts this flat form). Each step loads 16 bytes and turns them into two 16-bit masks, one bit
 * per quote byte and one per LF; the quote count of a line is then a `popcnt` of the quote bits
 * before its LF, plus the parity carried from the previous blocks of the same line.
 *
 * Parameters `$p`, `$len`, `$max` as in `LineSkipper.skip`; result: the lines taken, with the
 * global `$end` set to the offset reached. Locals: `$i` the block address, `$start` the start of
 * the current line, `$parity` its quote count so far (mod 2), `$quotes`/`$lfs` the block's masks
 * (bits of the lines already taken cleared), `$taken` the lines taken.
 */
const LINE_SKIPPER_WAT = `
  i32.const 34  i8x16.splat  local.set $quoteVec                ;; '"' in all 16 lanes
  i32.const 10  i8x16.splat  local.set $lfVec                   ;; LF in all 16 lanes
  local.get $p  local.set $start
  local.get $p  i32.const -16  i32.and  local.set $i            ;; blocks are 16-byte aligned
  block $stop
    loop $blocks
      local.get $i  local.get $len  i32.ge_u  br_if $stop
      local.get $i  v128.load  local.tee $v
      local.get $quoteVec  i8x16.eq  i8x16.bitmask  local.set $quotes
      local.get $v  local.get $lfVec  i8x16.eq  i8x16.bitmask  local.set $lfs
      ;; keep the bits of bytes in [p, len) only
      i32.const -1  local.set $keep
      local.get $i  local.get $p  i32.lt_u
      if
        i32.const -1  local.get $p  local.get $i  i32.sub  i32.shl  local.set $keep
      end
      local.get $len  local.get $i  i32.sub  i32.const 16  i32.lt_u
      if
        local.get $keep
        i32.const 1  local.get $len  local.get $i  i32.sub  i32.shl  i32.const 1  i32.sub
        i32.and  local.set $keep
      end
      local.get $quotes  local.get $keep  i32.and  local.set $quotes
      local.get $lfs  local.get $keep  i32.and  local.set $lfs
      ;; each LF of the block ends the current line
      block $blockDone
        loop $lines
          local.get $lfs  i32.eqz  br_if $blockDone
          local.get $lfs  i32.ctz  local.set $bit
          ;; odd quote count on the line: stop (readRecordAt decides)
          local.get $parity
          local.get $quotes  i32.const 1  local.get $bit  i32.shl  i32.const 1  i32.sub  i32.and  i32.popcnt
          i32.xor  i32.const 1  i32.and  br_if $stop
          ;; blank line, empty or a lone CR: stop
          local.get $i  local.get $bit  i32.add  local.tee $lf  local.get $start  i32.eq  br_if $stop
          local.get $lf  local.get $start  i32.const 1  i32.add  i32.eq
          if
            local.get $start  i32.load8_u  i32.const 13  i32.eq  br_if $stop
          end
          ;; a plain line: take it, the next line starts after the LF
          local.get $taken  i32.const 1  i32.add  local.set $taken
          local.get $lf  i32.const 1  i32.add  local.set $start
          local.get $quotes  i32.const -2  local.get $bit  i32.shl  i32.and  local.set $quotes
          i32.const 0  local.set $parity
          local.get $lfs  local.get $lfs  i32.const 1  i32.sub  i32.and  local.set $lfs
          local.get $taken  local.get $max  i32.eq  br_if $stop
          br $lines
        end
      end
      ;; quotes after the block's last LF belong to the line that goes on in the next block
      local.get $parity  local.get $quotes  i32.popcnt  i32.xor  i32.const 1  i32.and  local.set $parity
      local.get $i  i32.const 16  i32.add  local.set $i
      br $blocks
    end
  end
  local.get $start  global.set $end
  local.get $taken
`;
const SKIPPER_PARAMS = ['$p', '$len', '$max'];
const SKIPPER_I32_LOCALS = ['$i', '$start', '$quotes', '$lfs', '$keep', '$bit', '$lf', '$parity', '$taken'];
const SKIPPER_V128_LOCALS = ['$v', '$quoteVec', '$lfVec'];
const SKIPPER_GLOBALS = ['$end'];

/**
 * The module: imports its memory (`env.mem`, sized by the caller), exports `skip` and the global
 * `end`.
 */
function skipperModuleBytes(): Uint8Array {
  const code = assemble(LINE_SKIPPER_WAT, [...SKIPPER_PARAMS, ...SKIPPER_I32_LOCALS, ...SKIPPER_V128_LOCALS], SKIPPER_GLOBALS);
  const body = [...vec([[...uleb(SKIPPER_I32_LOCALS.length), I32], [...uleb(SKIPPER_V128_LOCALS.length), V128]]), ...code, ...OPCODES.end];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vec([[0x60, ...vec(SKIPPER_PARAMS.map(() => [I32])), ...vec([[I32]])]])), // type 0: (i32 i32 i32) -> i32
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, 0x01]])), // memory import, at least 1 page
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(6, vec([[I32, 0x01, ...OPCODES['i32.const'], 0, ...OPCODES.end]])), // global 0: mutable i32 = 0
    ...section(7, vec([[...name('skip'), 0x00, 0], [...name('end'), 0x03, 0]])), // exports
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

/** Compiled once per process; null when WebAssembly SIMD is unavailable (e.g. `--jitless`). */
let skipperModule: object | null | undefined;

/** A skipper with its own memory holding a `bufSize` buffer, or null without WebAssembly SIMD. */
export function createLineSkipper(bufSize: number): LineSkipper | null {
  if (skipperModule === undefined) {
    const bytes = skipperModuleBytes();
    skipperModule = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
  }
  if (!skipperModule || !wasmApi) return null;
  // 16 spare bytes: the last 16-byte load may reach past the buffer (those bytes are masked out).
  // The memory never grows, so the Buffer view stays valid.
  const pages = Math.ceil((bufSize + 16) / 65536);
  let memory: { buffer: ArrayBuffer };
  let exports: Record<string, unknown>;
  try {
    memory = new wasmApi.Memory({ initial: pages, maximum: pages });
    exports = new wasmApi.Instance(skipperModule, { env: { mem: memory } }).exports;
  } catch {
    return null; // a buffer beyond what a WebAssembly memory can hold: plan without the skipper
  }
  const end = exports.end as { value: number };
  return {
    buf: Buffer.from(memory.buffer, 0, bufSize),
    skip: exports.skip as (p: number, len: number, max: number) => number,
    end: () => end.value,
  };
}
