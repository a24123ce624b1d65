// The ring indexes (avail.idx, used.idx, the event indexes and flags) are
// the only words the two sides read and write with ordering: a side stores
// its index after the entries it covers, and the other side loads the index
// before it reads them. JavaScript's Atomics.load/store give that order, but
// V8 in Node 20 does not inline them into optimized code: each one is a call
// into a generic builtin that validates the array and the index again:
// 126 to 140 instructions, against about 10 for a plain access (valgrind,
// BENCHMARKS.md "Fifth session"). A one-buffer chain crosses four of them,
// about a third of what it costs at batch 1.
//
// WebAssembly's atomics have the same sequentially consistent semantics, and
// V8 inlines a call from optimized JavaScript into a tiny wasm function: 50
// to 56 instructions in the same measurement (112 when one call site sees two
// memories, whose functions differ; still less than Atomics).
// They can only reach a WebAssembly.Memory, so a GuestMemory made from a
// shared WebAssembly.Memory uses them; one made from a plain
// SharedArrayBuffer uses Atomics. Both are exact: this is speed, not meaning.

// The parts of the WebAssembly API used here. Its types live in TypeScript's
// DOM lib, which this package does not assume; the API itself is in every
// browser and in Node.
/** A WebAssembly.Memory, as this package sees one. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** WebAssembly memory pages are 64 KiB. */
export const WASM_PAGE = 65536;

export function isWasmMemory(x: unknown): x is WasmMemory {
  return wasmApi !== undefined && x instanceof wasmApi.Memory;
}

/**
 * A shared WebAssembly.Memory of exactly `pages` pages, or null where
 * WebAssembly is missing or cannot reserve it (a wasm memory reserves its
 * address space up front; a SharedArrayBuffer may still fit).
 */
export function sharedWasmMemory(pages: number): WasmMemory | null {
  if (wasmApi === undefined) return null;
  try {
    return new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return null;
  }
}

/** Sequentially consistent access to the u16 words of guest memory (indexes in u16 units, as Atomics takes them). */
export interface RingIndexAccess {
  load(index: number): number;
  store(index: number, value: number): void;
}

/** Atomics on a Uint16Array view: works on any SharedArrayBuffer. */
export class AtomicsIndexAccess implements RingIndexAccess {
  declare private readonly u16: Uint16Array;
  constructor(u16: Uint16Array) {
    this.u16 = u16;
  }
  load(index: number): number {
    return Atomics.load(this.u16, index);
  }
  store(index: number, value: number): void {
    Atomics.store(this.u16, index, value);
  }
}

// The module, assembled by hand (the WebAssembly text in the comments):
//   (module
//     (import "e" "m" (memory 0 65536 shared))
//     (func (export "l") (param $at i32) (result i32)
//       (i32.atomic.load16_u (local.get $at)))
//     (func (export "s") (param $at i32) (param $v i32)
//       (i32.atomic.store16 (local.get $at) (local.get $v))))
// The memory's limits in the import are the loosest that validate; the
// instance takes whatever memory it is given within them.
const MODULE_BYTES = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
  ...[0x01, 0x0b, 0x02], // type section: 2 types
  ...[0x60, 0x01, 0x7f, 0x01, 0x7f], // (i32) -> i32
  ...[0x60, 0x02, 0x7f, 0x7f, 0x00], // (i32, i32) -> ()
  ...[0x02, 0x0b, 0x01], // import section: 1 import
  ...[0x01, 0x65, 0x01, 0x6d, 0x02], // "e" "m": a memory
  ...[0x03, 0x00, 0x80, 0x80, 0x04], // shared, min 0, max 65536 (LEB128)
  ...[0x03, 0x03, 0x02, 0x00, 0x01], // function section: types 0 and 1
  ...[0x07, 0x09, 0x02], // export section: 2 exports
  ...[0x01, 0x6c, 0x00, 0x00], // "l": function 0
  ...[0x01, 0x73, 0x00, 0x01], // "s": function 1
  ...[0x0a, 0x15, 0x02], // code section: 2 bodies
  ...[0x08, 0x00, 0x20, 0x00, 0xfe, 0x13, 0x01, 0x00, 0x0b], // l: i32.atomic.load16_u align=2
  ...[0x0a, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfe, 0x1a, 0x01, 0x00, 0x0b], // s: i32.atomic.store16
]);

let compiled: object | null = null;
/** One access per memory in this thread (wasmIndexAccess() says why). */
const accessOf = new WeakMap<WasmMemory, WasmIndexAccess>();

/**
 * The access for `memory`, shared by every GuestMemory made from it in this
 * thread. V8 inlines a call into WebAssembly only while a call site sees
 * one function object, and each instance has its own: a queue per
 * instance would make the code that serves them all call generically.
 */
export function wasmIndexAccess(memory: WasmMemory): WasmIndexAccess {
  let a = accessOf.get(memory);
  if (a === undefined) {
    a = new WasmIndexAccess(memory);
    accessOf.set(memory, a);
  }
  return a;
}

/** WebAssembly atomics on a shared WebAssembly.Memory: the same order, a fraction of the cost. */
export class WasmIndexAccess implements RingIndexAccess {
  declare private readonly l: (at: number) => number;
  declare private readonly s: (at: number, value: number) => void;
  constructor(memory: WasmMemory) {
    if (wasmApi === undefined) throw new TypeError('no WebAssembly here');
    compiled ??= new wasmApi.Module(MODULE_BYTES);
    const { exports } = new wasmApi.Instance(compiled, { e: { m: memory } });
    this.l = exports.l as (at: number) => number;
    this.s = exports.s as (at: number, value: number) => void;
  }
  load(index: number): number {
    return this.l(index << 1);
  }
  store(index: number, value: number): void {
    this.s(index << 1, value);
  }
}
