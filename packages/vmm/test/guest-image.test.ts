// A domain's memory is a shared WebAssembly.Memory when its size is whole
// 64 KiB pages (its rings then use WebAssembly's atomics), a
// SharedArrayBuffer otherwise; either way exactly the bytes configured.
import { START_INFO, START_INFO_GPA, START_INFO_MAGIC } from '@pvkit/hypercall';
import { GuestMemory, WASM_PAGE, WasmIndexAccess } from '@pvkit/virtio-ring';
import { describe, expect, test } from 'vitest';
import { buildGuestImage } from '../src/boot/guest-memory.ts';

function image(bytes: number) {
  return buildGuestImage({
    domid: 1,
    name: 'd1',
    bytes,
    nrVcpus: 1,
    cmdline: '',
    apps: [],
    devices: [],
    timeBaseMs: 0,
  });
}

function magic(memory: SharedArrayBuffer): number {
  return new DataView(memory).getUint32(START_INFO_GPA + START_INFO.magic, true);
}

describe('guest memory', () => {
  test('whole 64 KiB pages: a shared WebAssembly.Memory, whose buffer is the memory', () => {
    const img = image(64 * WASM_PAGE);
    expect(img.wasmMemory).not.toBeNull();
    expect(img.memory.byteLength).toBe(64 * WASM_PAGE);
    expect(img.wasmMemory?.buffer.byteLength).toBe(64 * WASM_PAGE);
    // The same bytes: start_info written through one is read through the other.
    expect(magic(img.wasmMemory?.buffer as SharedArrayBuffer)).toBe(START_INFO_MAGIC);
    // GuestMemory takes it as a WebAssembly.Memory (its `memory`), with wasm atomics.
    const mem = new GuestMemory(img.wasmMemory ?? img.memory);
    expect(mem.memory).toBe(img.wasmMemory);
    expect(mem.atomics).toBeInstanceOf(WasmIndexAccess);
  });

  test('any other size: a SharedArrayBuffer of exactly that size, no wasm memory', () => {
    const bytes = 64 * WASM_PAGE + 4096;
    const img = image(bytes);
    expect(img.wasmMemory).toBeNull();
    expect(img.memory).toBeInstanceOf(SharedArrayBuffer);
    expect(img.memory.byteLength).toBe(bytes);
    expect(magic(img.memory)).toBe(START_INFO_MAGIC);
  });
});
