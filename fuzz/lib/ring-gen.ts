// The hostile driver's toolkit: write descriptors, indirect tables and avail
// entries byte by byte (through FuzzGuest, so the shadow knows), lay chains
// out from a list of buffers, and produce the values a bad driver would
// use: addresses at and past the end of memory, u64s past 2^53, lengths
// that overflow. Shared by every target that sits on the device half.
import {
  AVAIL_IDX,
  AVAIL_RING,
  availEventOffset,
  DESC_SIZE,
  type QueueAddresses,
  USED_ELEM_SIZE,
  USED_FLAGS,
  USED_IDX,
  USED_RING,
  usedEventOffset,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '../../packages/virtio-ring/src/index.ts';
import type { FuzzGuest } from './guest.ts';
import type { Rng } from './rng.ts';

const TWO_32 = 4294967296;

/** A buffer as the driver describes it; `hi` set makes the u64 address >= 2^32. */
export interface Buf {
  addr: number;
  len: number;
  writable: boolean;
  hi?: number;
}

/** Byte addresses of a queue's shared fields. */
export class RawRing {
  readonly g: FuzzGuest;
  readonly q: QueueAddresses;
  /** The avail.idx this driver stored last. */
  availIdx = 0;

  constructor(g: FuzzGuest, q: QueueAddresses) {
    this.g = g;
    this.q = q;
  }

  get availIdxAddr(): number {
    return this.q.avail + AVAIL_IDX;
  }
  availSlotAddr(i: number): number {
    return this.q.avail + AVAIL_RING + 2 * (i & (this.q.size - 1));
  }
  get usedEventAddr(): number {
    return this.q.avail + usedEventOffset(this.q.size);
  }
  get usedFlagsAddr(): number {
    return this.q.used + USED_FLAGS;
  }
  get usedIdxAddr(): number {
    return this.q.used + USED_IDX;
  }
  usedElemAddr(i: number): number {
    return this.q.used + USED_RING + USED_ELEM_SIZE * (i & (this.q.size - 1));
  }
  get availEventAddr(): number {
    return this.q.used + availEventOffset(this.q.size);
  }

  desc(index: number, b: Buf, flags: number, next: number, table = this.q.desc): void {
    const at = table + index * DESC_SIZE;
    this.g.w64(at, b.addr >>> 0, b.hi ?? Math.floor(b.addr / TWO_32));
    this.g.w32(at + 8, b.len >>> 0);
    this.g.w16(at + 12, flags);
    this.g.w16(at + 14, next);
  }

  /** Put `head` in the next slot; publish avail.idx unless `publish` is false. */
  offer(head: number, publish = true): void {
    this.g.w16(this.availSlotAddr(this.availIdx), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    if (publish) this.setAvailIdx(this.availIdx);
  }

  setAvailIdx(idx: number): void {
    this.availIdx = idx & 0xffff;
    this.g.w16(this.availIdxAddr, this.availIdx);
  }

  /** Link `bufs` through descriptors `indices` (same length) of `table`; returns the head. */
  chain(indices: readonly number[], bufs: readonly Buf[], table = this.q.desc): number {
    for (let k = 0; k < bufs.length; k++) {
      const last = k === bufs.length - 1;
      const flags = (bufs[k].writable ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT);
      this.desc(indices[k], bufs[k], flags, last ? 0 : indices[k + 1], table);
    }
    return indices[0];
  }

  /** Descriptor `head` points at an indirect table at `tableAddr` holding `bufs`. */
  indirect(head: number, tableAddr: number, bufs: readonly Buf[]): number {
    this.chain(
      bufs.map((_, k) => k),
      bufs,
      tableAddr,
    );
    const len = bufs.length * DESC_SIZE;
    this.desc(head, { addr: tableAddr, len, writable: false }, VIRTQ_DESC_F_INDIRECT, 0);
    return head;
  }
}

/** A bump allocator over a guest address range; -1 when it is full. */
export class Bump {
  private next: number;
  private readonly hi: number;
  constructor(lo: number, hi: number) {
    this.next = lo;
    this.hi = hi;
  }
  alloc(len: number, align = 1): number {
    const at = Math.ceil(this.next / align) * align;
    if (at + len > this.hi) return -1;
    this.next = at + len;
    return at;
  }
  get free(): number {
    return Math.max(0, this.hi - this.next);
  }
}

/** `count` distinct descriptor indices below n (count <= n). */
export function distinctIndices(rng: Rng, n: number, count: number): number[] {
  const out: number[] = [];
  const used = new Set<number>();
  while (out.length < count) {
    const i = rng.int(n);
    if (used.has(i)) continue;
    used.add(i);
    out.push(i);
  }
  return out;
}

/** An address a bad driver would write: at, just past, or far past the end; u64s past 2^53. */
export function hostileAddr(rng: Rng, size: number): { addr: number; hi: number } {
  switch (rng.int(9)) {
    case 0:
      return { addr: size, hi: 0 };
    case 1:
      return { addr: size + rng.range(1, 64), hi: 0 };
    case 2:
      return { addr: size - rng.range(1, 8), hi: 0 };
    case 3:
      return { addr: rng.u32(), hi: 1 }; // 2^32 + x
    case 4:
      return { addr: 0xffffffff, hi: 0xffffffff }; // 2^64 - 1
    case 5:
      return { addr: rng.int(size), hi: 0x200000 }; // >= 2^53
    case 6:
      return { addr: rng.int(size), hi: 0x1fffff }; // just below 2^53
    case 7:
      return { addr: rng.int(size), hi: 0x80000000 }; // negative as an i64
    default:
      return { addr: rng.u32(), hi: rng.u32() };
  }
}

/** A length a bad driver would write: zero, to the end, one past it, overflowing. */
export function hostileLen(rng: Rng, size: number, addr: number): number {
  switch (rng.int(6)) {
    case 0:
      return 0;
    case 1:
      return Math.max(0, size - addr);
    case 2:
      return Math.max(0, size - addr) + 1;
    case 3:
      return 0xffffffff;
    case 4:
      return 0x80000000 + rng.int(16);
    default:
      return rng.u32();
  }
}

/** Overwrite one field of descriptor `index` of `table` with a hostile value. */
export function corruptDescriptor(
  rng: Rng,
  ring: RawRing,
  table: number,
  index: number,
  n: number,
): void {
  const at = table + index * DESC_SIZE;
  const g = ring.g;
  switch (rng.int(7)) {
    case 0: {
      const a = hostileAddr(rng, g.size);
      g.w64(at, a.addr >>> 0, a.hi >>> 0);
      return;
    }
    case 1:
      g.w32(at + 8, hostileLen(rng, g.size, 0));
      return;
    case 2: // flip one of the three defined flags, or set junk bits
      g.w16(at + 12, (g.r16(at + 12) ^ (1 << rng.int(3))) | (rng.chance(0.2) ? rng.u32() : 0));
      return;
    case 3: // a loop back to itself, or a next out of range
      g.w16(at + 14, rng.pick([index, n, n + rng.int(8), 0xffff, rng.int(n)]));
      g.w16(at + 12, g.r16(at + 12) | VIRTQ_DESC_F_NEXT);
      return;
    case 4:
      g.w16(at + 12, g.r16(at + 12) | VIRTQ_DESC_F_INDIRECT);
      return;
    case 5:
      g.w16(at + 12, g.r16(at + 12) & ~VIRTQ_DESC_F_NEXT);
      return;
    default:
      g.w8(at + rng.int(DESC_SIZE), rng.u32() & 0xff);
  }
}

/** Cut `total` into 1..4 pieces at random points (pieces may be empty now and then). */
export function cuts(rng: Rng, total: number): number[] {
  const pieces = rng.weighted([5, 3, 1, 1]) + 1;
  const points = [0, total];
  for (let i = 1; i < pieces; i++) points.push(rng.int(total + 1));
  points.sort((a, b) => a - b);
  const out: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const len = points[i] - points[i - 1];
    if (len > 0 || rng.chance(0.05)) out.push(len);
  }
  return out.length ? out : [total];
}
