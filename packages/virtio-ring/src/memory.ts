// Guest memory: one SharedArrayBuffer, guest-physical address = byte offset.
// It may be the buffer of a shared WebAssembly.Memory: the ring indexes are
// then loaded and stored with WebAssembly's atomics (ring-index.ts says why).
//
// Every address that crosses from one side to the other is a u64 on the wire
// and must be treated as hostile: `check` accepts a number or a bigint and
// rejects anything that starts at or past the end, or whose end would pass
// it, without ever computing a sum that could overflow or lose precision.

import {
  AtomicsIndexAccess,
  isWasmMemory,
  type RingIndexAccess,
  sharedWasmMemory,
  WASM_PAGE,
  type WasmMemory,
  wasmIndexAccess,
} from './ring-index.ts';

/** Every way an address range can be wrong. */
export type GuestMemoryErrorKind =
  /** Not an integer in [0, 2^64) (negative, fractional, NaN, too big for u64). */
  | 'bad-address'
  /** Length not an integer in [0, 2^32]. */
  | 'bad-length'
  /** The start is at or past the end of guest memory. */
  | 'address-out-of-range'
  /** The range starts inside guest memory but ends past it. */
  | 'range-out-of-bounds';

export class GuestMemoryError extends Error {
  declare readonly kind: GuestMemoryErrorKind;
  declare readonly addr: number | bigint;
  declare readonly len: number;
  constructor(kind: GuestMemoryErrorKind, addr: number | bigint, len: number, size: number) {
    super(`guest memory: ${kind}: [${fmt(addr)}, +${len}) in ${size} bytes`);
    this.name = 'GuestMemoryError';
    this.kind = kind;
    this.addr = addr;
    this.len = len;
  }
}

function fmt(addr: number | bigint): string {
  if (typeof addr === 'bigint') return `0x${addr.toString(16)}`;
  return Number.isFinite(addr) ? `0x${addr.toString(16)}` : String(addr);
}

const U64_LIMIT = 1n << 64n;
const MAX_LEN = 2 ** 32;

/** True on the hosts every browser and Node build runs on; the rings assume it. */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class GuestMemory {
  declare readonly buffer: SharedArrayBuffer;
  declare readonly size: number;
  /** Cached views: the rings index these directly after their own checks. */
  declare readonly u8: Uint8Array;
  declare readonly u16: Uint16Array;
  declare readonly u32: Uint32Array;
  declare readonly view: DataView;
  /** The ring indexes' loads and stores, with the order the two sides need. */
  declare readonly atomics: RingIndexAccess;
  /** The WebAssembly.Memory this was made from, or null (post it to share the memory). */
  declare readonly memory: WasmMemory | null;

  /**
   * `source`: a SharedArrayBuffer, or a shared WebAssembly.Memory of fixed
   * size (`initial` = `maximum`), whose ring indexes then cost less.
   */
  constructor(source: SharedArrayBuffer | WasmMemory) {
    const wasm = isWasmMemory(source);
    const buffer = wasm ? source.buffer : source;
    if (!(buffer instanceof SharedArrayBuffer))
      throw new TypeError('GuestMemory needs a SharedArrayBuffer or a shared WebAssembly.Memory');
    this.buffer = buffer;
    this.size = buffer.byteLength;
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer, 0, this.size >>> 1);
    this.u32 = new Uint32Array(buffer, 0, Math.floor(this.size / 4));
    this.view = new DataView(buffer);
    this.memory = wasm ? source : null;
    this.atomics = wasm ? wasmIndexAccess(source) : new AtomicsIndexAccess(this.u16);
  }

  /**
   * New guest memory of at least `bytes` bytes: a shared WebAssembly.Memory
   * rounded up to whole 64 KiB pages where WebAssembly exists and can
   * reserve it (its ring indexes cost less), else a SharedArrayBuffer of
   * exactly `bytes`; `kind` 'sab' asks for the SharedArrayBuffer (Atomics).
   * Post `shareable` to give another thread the same memory.
   */
  static allocate(bytes: number, kind: 'auto' | 'sab' = 'auto'): GuestMemory {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_LEN)
      throw new RangeError(`guest memory of ${bytes} bytes: want an integer in [0, 2^32]`);
    const wasm = kind === 'sab' ? null : sharedWasmMemory(Math.ceil(bytes / WASM_PAGE));
    return new GuestMemory(wasm ?? new SharedArrayBuffer(bytes));
  }

  /** What to post to another thread for it to build a GuestMemory on the same bytes. */
  get shareable(): SharedArrayBuffer | WasmMemory {
    return this.memory ?? this.buffer;
  }

  /**
   * Validate [addr, addr+len) and return addr as a number. A zero-length
   * range must still start inside memory.
   */
  check(addr: number | bigint, len: number): number {
    if (!Number.isInteger(len) || len < 0 || len > MAX_LEN)
      throw new GuestMemoryError('bad-length', addr, len, this.size);
    let a: number;
    if (typeof addr === 'number') {
      if (!Number.isSafeInteger(addr) || addr < 0) {
        // 2^53..2^64 is a valid u64 but necessarily past the end.
        if (Number.isInteger(addr) && addr >= 2 ** 53 && addr < 2 ** 64)
          throw new GuestMemoryError('address-out-of-range', addr, len, this.size);
        throw new GuestMemoryError('bad-address', addr, len, this.size);
      }
      a = addr;
    } else {
      if (addr < 0n || addr >= U64_LIMIT)
        throw new GuestMemoryError('bad-address', addr, len, this.size);
      if (addr >= BigInt(this.size))
        throw new GuestMemoryError('address-out-of-range', addr, len, this.size);
      a = Number(addr);
    }
    if (a >= this.size) throw new GuestMemoryError('address-out-of-range', addr, len, this.size);
    // a < size <= 2^53 and len <= 2^32: the sum is exact.
    if (len > this.size - a)
      throw new GuestMemoryError('range-out-of-bounds', addr, len, this.size);
    return a;
  }

  /** A checked view of guest memory (no copy): writes through it reach the guest. */
  bytes(addr: number | bigint, len: number): Uint8Array {
    const a = this.check(addr, len);
    return new Uint8Array(this.buffer, a, len);
  }

  /** Copy guest bytes out (for headers: validate the copy, never re-read the guest). */
  copyOut(addr: number | bigint, len: number): Uint8Array {
    const a = this.check(addr, len);
    return this.u8.slice(a, a + len);
  }

  /** Copy bytes into guest memory. */
  copyIn(addr: number | bigint, data: Uint8Array): void {
    const a = this.check(addr, data.length);
    this.u8.set(data, a);
  }

  readU8(addr: number | bigint): number {
    return this.u8[this.check(addr, 1)];
  }
  readU16(addr: number | bigint): number {
    return this.view.getUint16(this.check(addr, 2), true);
  }
  readU32(addr: number | bigint): number {
    return this.view.getUint32(this.check(addr, 4), true);
  }
  readU64(addr: number | bigint): bigint {
    return this.view.getBigUint64(this.check(addr, 8), true);
  }

  writeU8(addr: number | bigint, value: number): void {
    this.u8[this.check(addr, 1)] = value;
  }
  writeU16(addr: number | bigint, value: number): void {
    this.view.setUint16(this.check(addr, 2), value, true);
  }
  writeU32(addr: number | bigint, value: number): void {
    this.view.setUint32(this.check(addr, 4), value, true);
  }
  writeU64(addr: number | bigint, value: bigint): void {
    this.view.setBigUint64(this.check(addr, 8), BigInt.asUintN(64, value), true);
  }
}
