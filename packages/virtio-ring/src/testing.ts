// A raw driver for tests (in the spirit of vm-virtio's MockSplitQueue): it
// writes descriptor tables and avail entries byte by byte, including
// everything a well-behaved DriverQueue would never write, so device code
// can be tested against malformed and hostile drivers.

import {
  AVAIL_FLAGS,
  AVAIL_IDX,
  AVAIL_RING,
  DESC_ADDR,
  DESC_FLAGS,
  DESC_LEN,
  DESC_NEXT,
  DESC_SIZE,
  type QueueAddresses,
  USED_ELEM_SIZE,
  USED_IDX,
  USED_RING,
  usedEventOffset,
} from './layout.ts';
import type { GuestMemory } from './memory.ts';
import { clearRings } from './queue-setup.ts';

/** A descriptor as raw fields; `addr` may be any u64. */
export interface RawDescriptor {
  addr: number | bigint;
  len: number;
  flags?: number;
  next?: number;
}

export class RawDriver {
  declare readonly mem: GuestMemory;
  declare readonly queue: QueueAddresses;
  private availIdx = 0;

  constructor(mem: GuestMemory, queue: QueueAddresses) {
    this.mem = mem;
    this.queue = queue;
    clearRings(mem, queue);
  }

  /** Write one descriptor into the table at `tableAddr` (default: the queue's own). */
  writeDescriptor(index: number, d: RawDescriptor, tableAddr = this.queue.desc): void {
    const v = this.mem.view;
    const at = tableAddr + index * DESC_SIZE;
    v.setBigUint64(at + DESC_ADDR, BigInt.asUintN(64, BigInt(d.addr)), true);
    v.setUint32(at + DESC_LEN, d.len >>> 0, true);
    v.setUint16(at + DESC_FLAGS, d.flags ?? 0, true);
    v.setUint16(at + DESC_NEXT, d.next ?? 0, true);
  }

  /** Write a run of descriptors starting at index `first`. */
  writeChain(first: number, descs: readonly RawDescriptor[], tableAddr = this.queue.desc): void {
    for (let k = 0; k < descs.length; k++) this.writeDescriptor(first + k, descs[k], tableAddr);
  }

  /** Put `head` in the next avail slot and publish avail.idx. */
  offer(...heads: number[]): void {
    const v = this.mem.view;
    for (const head of heads) {
      const slot = this.availIdx & (this.queue.size - 1);
      v.setUint16(this.queue.avail + AVAIL_RING + 2 * slot, head, true);
      this.availIdx = (this.availIdx + 1) & 0xffff;
    }
    this.setAvailIdx(this.availIdx);
  }

  /** Store any avail.idx (e.g. a jump past N). */
  setAvailIdx(idx: number): void {
    this.availIdx = idx & 0xffff;
    Atomics.store(this.mem.u16, (this.queue.avail + AVAIL_IDX) / 2, this.availIdx);
  }

  setAvailFlags(flags: number): void {
    Atomics.store(this.mem.u16, (this.queue.avail + AVAIL_FLAGS) / 2, flags);
  }

  setUsedEvent(idx: number): void {
    Atomics.store(this.mem.u16, (this.queue.avail + usedEventOffset(this.queue.size)) / 2, idx);
  }

  usedIdx(): number {
    return Atomics.load(this.mem.u16, (this.queue.used + USED_IDX) / 2);
  }

  /** Used ring entry at ring position `i` (an index, taken mod N). */
  used(i: number): { id: number; len: number } {
    const at = this.queue.used + USED_RING + USED_ELEM_SIZE * (i & (this.queue.size - 1));
    return { id: this.mem.view.getUint32(at, true), len: this.mem.view.getUint32(at + 4, true) };
  }
}
