// The device's descriptor walker: follows one chain through the descriptor
// table (and at most one indirect table), copies each descriptor out once,
// and checks every rule a driver must keep. The result lands in reusable
// typed arrays (no allocation per descriptor); DeviceQueue.pop turns it into
// a DescriptorChain for callers who prefer objects.

import { VirtqueueError, type VirtqueueErrorKind } from './errors.ts';
import {
  DESC_SIZE,
  MAX_CHAIN_BYTES,
  MAX_INDIRECT_ENTRIES,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from './layout.ts';
import type { GuestMemory } from './memory.ts';

const TWO_32 = 4294967296;
// Module-local copies: optimized code loads these from the module's context
// (and checks they are small integers), while an imported binding costs one
// load more and a hole check on every use (Node 20; --print-opt-code).
const NEXT = VIRTQ_DESC_F_NEXT;
const INDIRECT = VIRTQ_DESC_F_INDIRECT;
const WRITE = VIRTQ_DESC_F_WRITE;
/** hi word at or above this makes the u64 address >= 2^53: past any memory. */
const HI_LIMIT = 0x200000;

/**
 * One validated chain, in reusable arrays: segment i is `addr[i]`,
 * `len[i]`, writable iff `i >= readableCount`. Valid until the next read.
 */
export class ChainReader {
  /** Number of segments. */
  count = 0;
  /** Segments [0, readableCount) are readable; the rest writable. */
  readableCount = 0;
  readableLen = 0;
  writableLen = 0;
  /** Set when the chain is malformed; the segments are then meaningless. */
  error: VirtqueueError | null = null;
  declare readonly addr: Float64Array;
  declare readonly len: Uint32Array;

  declare private readonly mem: GuestMemory;
  declare private readonly u32: Uint32Array;
  declare private readonly memSize: number;
  declare private readonly size: number;
  declare private readonly descIndex: number;
  declare private readonly indirectAllowed: boolean;
  declare private readonly maxIndirect: number;
  // The descriptor being looked at, copied out of guest memory once.
  private dLo = 0;
  private dHi = 0;
  private dLen = 0;
  private dFlags = 0;
  private dNext = 0;
  /** The head of the chain the slow walk is on (for its errors). */
  private walkHead = -1;

  constructor(mem: GuestMemory, queueSize: number, descIndex: number, indirectAllowed: boolean) {
    this.mem = mem;
    this.u32 = mem.u32;
    this.memSize = mem.size;
    this.size = queueSize;
    this.descIndex = descIndex;
    this.indirectAllowed = indirectAllowed;
    this.maxIndirect = Math.min(queueSize, MAX_INDIRECT_ENTRIES);
    this.addr = new Float64Array(queueSize);
    this.len = new Uint32Array(queueSize);
  }

  /** Walk the chain at `head` (< N, checked by the caller). False if malformed: see `error`. */
  read(head: number): boolean {
    const u32 = this.u32;
    const at = this.descIndex + head * 4;
    const lo = u32[at];
    const hi = u32[at + 1];
    const len = u32[at + 2];
    const fn = u32[at + 3];
    // The common case, one direct in-range buffer, without the general walk.
    if (
      (fn & (NEXT | INDIRECT)) === 0 &&
      hi === 0 &&
      lo < this.memSize &&
      len <= this.memSize - lo
    ) {
      this.single(lo, len, (fn & WRITE) !== 0);
      return true;
    }
    this.dLo = lo;
    this.dHi = hi;
    this.dLen = len;
    this.dFlags = fn & 0xffff;
    this.dNext = fn >>> 16;
    return this.walk(head);
  }

  /** Record a one-buffer chain (plain stores: this object is private to this thread). */
  private single(addr: number, len: number, writable: boolean): void {
    if (this.error !== null) this.error = null;
    this.addr[0] = addr;
    this.len[0] = len;
    this.count = 1;
    this.readableCount = writable ? 0 : 1;
    this.readableLen = writable ? 0 : len;
    this.writableLen = writable ? len : 0;
  }

  /** The general walk; the head descriptor is already copied into d*. */
  private walk(head: number): boolean {
    this.walkHead = head;
    this.error = null;
    this.count = 0;
    this.readableCount = 0;
    this.readableLen = 0;
    this.writableLen = 0;
    const u32 = this.u32;
    const n = this.size;
    let i = head;
    // Loop protection: the direct table holds N descriptors, so a chain
    // that visits more than N of them goes round in circles.
    for (let walked = 1; ; walked++) {
      if (walked > 1) {
        if (walked > n) return this.fail('chain-too-long', `more than ${n} descriptors (a loop?)`);
        const at = this.descIndex + i * 4;
        this.dLo = u32[at];
        this.dHi = u32[at + 1];
        this.dLen = u32[at + 2];
        const fn = u32[at + 3];
        this.dFlags = fn & 0xffff;
        this.dNext = fn >>> 16;
      }
      if ((this.dFlags & VIRTQ_DESC_F_INDIRECT) !== 0) return this.readIndirect();
      if (!this.take(i)) return false;
      if ((this.dFlags & VIRTQ_DESC_F_NEXT) === 0) return true;
      if (this.dNext >= n)
        return this.fail('next-out-of-range', `descriptor ${i} names next ${this.dNext} >= ${n}`);
      i = this.dNext;
    }
  }

  /** The current descriptor points at an indirect table: it ends the direct chain. */
  private readIndirect(): boolean {
    if (!this.indirectAllowed)
      return this.fail('indirect-not-negotiated', 'INDIRECT without VIRTIO_F_INDIRECT_DESC');
    if ((this.dFlags & VIRTQ_DESC_F_NEXT) !== 0)
      return this.fail('indirect-with-next', 'INDIRECT and NEXT on one descriptor');
    const bytes = this.dLen;
    if (bytes === 0) return this.fail('empty-indirect-table', 'indirect table of length 0');
    if (bytes % DESC_SIZE !== 0)
      return this.fail('indirect-length-not-multiple-of-16', `indirect table length ${bytes}`);
    const entries = bytes / DESC_SIZE;
    if (entries > this.maxIndirect)
      return this.fail('indirect-table-too-large', `${entries} entries > ${this.maxIndirect}`);
    const memSize = this.mem.size;
    if (this.dHi !== 0 || this.dLo >= memSize || bytes > memSize - this.dLo)
      return this.fail('indirect-table-out-of-range', `table at ${this.addrText()} +${bytes}`);
    const table = this.dLo;
    const aligned = table % 4 === 0;
    const u32 = this.mem.u32;
    const view = this.mem.view;
    let i = 0;
    for (let walked = 1; ; walked++) {
      if (walked > entries)
        return this.fail('chain-too-long', `indirect chain longer than its ${entries} entries`);
      const off = table + i * DESC_SIZE;
      let fn: number;
      if (aligned) {
        const at = off / 4;
        this.dLo = u32[at];
        this.dHi = u32[at + 1];
        this.dLen = u32[at + 2];
        fn = u32[at + 3];
      } else {
        this.dLo = view.getUint32(off, true);
        this.dHi = view.getUint32(off + 4, true);
        this.dLen = view.getUint32(off + 8, true);
        fn = view.getUint32(off + 12, true);
      }
      this.dFlags = fn & 0xffff;
      this.dNext = fn >>> 16;
      if ((this.dFlags & VIRTQ_DESC_F_INDIRECT) !== 0)
        return this.fail('nested-indirect', `INDIRECT inside the indirect table (entry ${i})`);
      if (!this.take(i)) return false;
      if ((this.dFlags & VIRTQ_DESC_F_NEXT) === 0) return true;
      if (this.dNext >= entries)
        return this.fail(
          'next-out-of-range',
          `indirect entry ${i} names next ${this.dNext} >= ${entries}`,
        );
      i = this.dNext;
    }
  }

  /** Validate the current (copied) descriptor as a buffer and append it. */
  private take(index: number): boolean {
    const memSize = this.mem.size;
    const hi = this.dHi;
    const lo = this.dLo;
    const len = this.dLen;
    if (hi >= HI_LIMIT)
      return this.fail('address-out-of-range', `descriptor ${index} address ${this.addrText()}`);
    const addr = hi * TWO_32 + lo;
    if (addr >= memSize)
      return this.fail('address-out-of-range', `descriptor ${index} address ${this.addrText()}`);
    // addr < size and len < 2^32: exact arithmetic, no u64 wrap possible.
    if (len > memSize - addr)
      return this.fail('range-out-of-bounds', `descriptor ${index}: ${this.addrText()} +${len}`);
    const c = this.count;
    if (c >= this.size)
      return this.fail('chain-too-long', `more than ${this.size} buffers in one chain`);
    if (this.readableLen + this.writableLen + len > MAX_CHAIN_BYTES)
      return this.fail('chain-too-large', 'more than 2^32 bytes in one chain');
    if ((this.dFlags & VIRTQ_DESC_F_WRITE) !== 0) {
      this.writableLen += len;
    } else {
      if (this.readableCount !== c)
        return this.fail(
          'readable-after-writable',
          `descriptor ${index} is readable after a writable one`,
        );
      this.readableCount = c + 1;
      this.readableLen += len;
    }
    this.addr[c] = addr;
    this.len[c] = len;
    this.count = c + 1;
    return true;
  }

  private addrText(): string {
    return `0x${((BigInt(this.dHi) << 32n) | BigInt(this.dLo)).toString(16)}`;
  }

  private fail(kind: VirtqueueErrorKind, detail: string): false {
    this.error = new VirtqueueError(kind, detail, this.walkHead);
    return false;
  }
}
