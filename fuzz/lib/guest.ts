// Guest memory for fuzzing: a real GuestMemory over a SharedArrayBuffer that
// is larger than the size it declares. The bytes past the declared end are a
// guard region filled with a pattern: a device that reads or writes beyond
// guest memory through an unchecked index lands there (instead of silently
// getting `undefined` from a typed array), and a changed guard byte is a
// failure. Alongside lives a shadow copy of what the guest (the harness)
// wrote, so that any byte a device changed where it had no business to is
// found by one comparison.
import { GuestMemory } from '../../packages/virtio-ring/src/index.ts';
import { check } from './runner.ts';

export const GUARD_BYTES = 1024;

function guardByte(i: number): number {
  return (0xa5 + i * 7) & 0xff;
}

/**
 * GuestMemory declaring only the first `size` bytes of its buffer. With a
 * `race` hook, every read of `size` calls it: ChainReader reads `mem.size`
 * for each descriptor it validates, so the hook is a racing driver writing
 * *during* a chain walk, without a Proxy and without touching ring code.
 */
class DeclaredMemory extends GuestMemory {
  constructor(buffer: SharedArrayBuffer, size: number, race: (() => void) | null) {
    super(buffer);
    Object.defineProperty(
      this,
      'size',
      race === null
        ? { value: size, enumerable: true }
        : {
            get: () => {
              race();
              return size;
            },
            enumerable: true,
          },
    );
  }
}

export class FuzzGuest {
  /** Declared guest memory size. */
  readonly size: number;
  readonly mem: GuestMemory;
  /** The whole buffer, guard included. */
  readonly u8: Uint8Array;
  /** What guest memory should hold: every harness write goes here too. */
  readonly shadow: Uint8Array;
  private readonly live: Buffer;
  private readonly shadowBuf: Buffer;
  private readonly guard: Uint8Array;
  private raceFn: (() => void) | null = null;
  private raceDepth = 0;

  constructor(size: number, racing = false) {
    this.size = size;
    const sab = new SharedArrayBuffer(size + GUARD_BYTES);
    this.u8 = new Uint8Array(sab);
    this.shadow = new Uint8Array(size);
    this.live = Buffer.from(sab, 0, size);
    this.shadowBuf = Buffer.from(this.shadow.buffer, 0, size);
    this.guard = Uint8Array.from({ length: GUARD_BYTES }, (_, i) => guardByte(i));
    this.mem = new DeclaredMemory(sab, size, racing ? () => this.onSizeRead() : null);
    this.reset();
  }

  /** Zeroed memory, zeroed shadow, fresh guard: a new guest. */
  reset(): void {
    this.u8.fill(0, 0, this.size);
    this.u8.set(this.guard, this.size);
    this.shadow.fill(0);
    this.raceFn = null;
  }

  /** While set, `fn` runs on every `mem.size` read (a driver racing the device). */
  race(fn: (() => void) | null): void {
    this.raceFn = fn;
  }

  private onSizeRead(): void {
    // The hook writes through w8() etc., which never read mem.size; the
    // depth guard keeps a hook that does from recursing.
    if (this.raceFn === null || this.raceDepth > 0) return;
    this.raceDepth++;
    try {
      this.raceFn();
    } finally {
      this.raceDepth--;
    }
  }

  // ---- Guest (harness) writes: memory and shadow together --------------------

  /** A guest can write only its own memory: the harness never writes the guard. */
  w8(addr: number, v: number): void {
    if (!(addr >= 0 && addr < this.size)) return;
    this.u8[addr] = v;
    this.shadow[addr] = v;
  }
  w16(addr: number, v: number): void {
    this.w8(addr, v & 0xff);
    this.w8(addr + 1, (v >>> 8) & 0xff);
  }
  w32(addr: number, v: number): void {
    this.w16(addr, v & 0xffff);
    this.w16(addr + 2, (v >>> 16) & 0xffff);
  }
  /** A u64 as two u32 words (lo, hi): any 64-bit pattern, including ones past 2^53. */
  w64(addr: number, lo: number, hi: number): void {
    this.w32(addr, lo);
    this.w32(addr + 4, hi);
  }
  writeBytes(addr: number, bytes: Uint8Array): void {
    if (!(addr >= 0 && addr + bytes.length <= this.size))
      throw new RangeError('harness bug: write outside guest memory');
    this.u8.set(bytes, addr);
    this.shadow.set(bytes, addr);
  }

  /** The model says a device wrote `v` here: expect it, without writing it. */
  expect16(addr: number, v: number): void {
    this.shadow[addr] = v & 0xff;
    this.shadow[addr + 1] = (v >>> 8) & 0xff;
  }
  expect32(addr: number, v: number): void {
    this.expect16(addr, v & 0xffff);
    this.expect16(addr + 2, (v >>> 16) & 0xffff);
  }

  /** A u16 as the guest last wrote it (the shadow: equal to memory between checks). */
  r16(addr: number): number {
    return this.shadow[addr] | (this.shadow[addr + 1] << 8);
  }

  /** A device wrote [addr, addr+len) legitimately: accept what is there now. */
  accept(addr: number, len: number): void {
    this.shadow.set(this.u8.subarray(addr, addr + len), addr);
  }

  // ---- Checks ---------------------------------------------------------------

  /** The guard region past the declared end still holds its pattern. */
  checkGuard(when: string): void {
    const g = this.u8.subarray(this.size);
    if (Buffer.from(g.buffer, g.byteOffset, g.length).equals(this.guard)) return;
    let i = 0;
    while (g[i] === this.guard[i]) i++;
    check(false, `${when}: byte ${this.size + i} past the end of guest memory changed`);
  }

  /** Guest memory equals the shadow: nobody wrote where the model says nothing was written. */
  checkUnchanged(when: string, what: (addr: number) => string = () => ''): void {
    if (this.live.equals(this.shadowBuf)) return;
    let i = 0;
    while (this.u8[i] === this.shadow[i]) i++;
    check(false, `${when}: guest byte ${i}${what(i)} is ${this.u8[i]}, expected ${this.shadow[i]}`);
  }
}

/** One FuzzGuest per size, reused across iterations (reset each time). */
export class GuestPool {
  private readonly byKey = new Map<string, FuzzGuest>();
  get(size: number, racing = false): FuzzGuest {
    const key = `${size}/${racing}`;
    let g = this.byKey.get(key);
    if (g === undefined) {
      g = new FuzzGuest(size, racing);
      this.byKey.set(key, g);
    } else g.reset();
    return g;
  }
}
