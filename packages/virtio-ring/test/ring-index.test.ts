// The ring indexes' two ways in: Atomics on a SharedArrayBuffer, and
// WebAssembly's atomics on a shared WebAssembly.Memory. They must be the
// same words with the same results; only the cost differs (ring-index.ts).
import { describe, expect, test } from 'vitest';
import {
  AtomicsIndexAccess,
  GuestMemory,
  WASM_PAGE,
  WasmIndexAccess,
  type WasmMemory,
} from '../src/index.ts';

type WasmMemoryCtor = new (d: { initial: number; maximum: number }) => WasmMemory;

describe('WasmIndexAccess', () => {
  const mem = GuestMemory.allocate(WASM_PAGE);
  const wasm = mem.atomics;
  const js = new AtomicsIndexAccess(mem.u16);

  test('a GuestMemory from a WebAssembly.Memory uses it', () => {
    expect(wasm).toBeInstanceOf(WasmIndexAccess);
    expect(mem.memory).not.toBeNull();
    expect(mem.shareable).toBe(mem.memory);
  });

  test('every GuestMemory of one wasm memory shares one access (one call target for V8)', () => {
    const again = new GuestMemory(mem.shareable);
    expect(again.atomics).toBe(wasm);
    const other = GuestMemory.allocate(WASM_PAGE);
    expect(other.atomics).toBeInstanceOf(WasmIndexAccess);
    expect(other.atomics).not.toBe(wasm);
  });

  test('reads and writes the same u16 words as Atomics and the typed arrays', () => {
    for (const at of [0, 1, 7, WASM_PAGE / 2 - 1]) {
      wasm.store(at, 0xbeef);
      expect(js.load(at)).toBe(0xbeef);
      expect(mem.u16[at]).toBe(0xbeef);
      expect(mem.readU16(at * 2)).toBe(0xbeef);
      js.store(at, 0x1234);
      expect(wasm.load(at)).toBe(0x1234);
    }
    // Neighbours untouched: a u16 store is two bytes, not four.
    mem.u16.fill(0);
    wasm.store(5, 0xffff);
    expect([mem.u16[4], mem.u16[5], mem.u16[6]]).toEqual([0, 0xffff, 0]);
  });

  test('keeps the low 16 bits of what it stores, as Atomics.store on a Uint16Array does', () => {
    for (const v of [0x12345, -1, 65536, 0x7fffffff]) {
      wasm.store(3, v);
      js.store(4, v);
      expect(wasm.load(3)).toBe(js.load(4));
      expect(wasm.load(3)).toBe(v & 0xffff);
    }
  });

  test('an index past the end throws instead of touching anything', () => {
    expect(() => wasm.load(WASM_PAGE / 2)).toThrow();
    expect(() => wasm.store(WASM_PAGE / 2, 1)).toThrow();
  });
});

describe('GuestMemory from a WebAssembly.Memory', () => {
  test('allocate() rounds up to whole 64 KiB pages', () => {
    expect(GuestMemory.allocate(1).size).toBe(WASM_PAGE);
    expect(GuestMemory.allocate(WASM_PAGE + 1).size).toBe(2 * WASM_PAGE);
    expect(GuestMemory.allocate(0).size).toBe(0);
  });

  test('allocate() refuses a size that is not a byte count', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 32 + 1])
      expect(() => GuestMemory.allocate(bad)).toThrow(RangeError);
  });

  test('a memory that is not shared is refused: its buffer is no SharedArrayBuffer', () => {
    // TypeScript's DOM lib has WebAssembly's types; this project does not load it.
    const api = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryCtor } }).WebAssembly;
    const plain = new api.Memory({ initial: 1, maximum: 1 });
    expect(() => new GuestMemory(plain)).toThrow(
      /SharedArrayBuffer or a shared WebAssembly.Memory/,
    );
  });

  test("a SharedArrayBuffer still goes through Atomics (allocate(n, 'sab') makes one)", () => {
    expect(GuestMemory.allocate(100, 'sab').buffer.byteLength).toBe(100);
    const mem = new GuestMemory(new SharedArrayBuffer(64));
    expect(mem.atomics).toBeInstanceOf(AtomicsIndexAccess);
    expect(mem.memory).toBeNull();
    expect(mem.shareable).toBe(mem.buffer);
  });
});
