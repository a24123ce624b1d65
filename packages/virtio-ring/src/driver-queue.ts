// The driver half of a split virtqueue: lay the rings out, add chains,
// publish them, decide whether to kick, and reclaim what the device used.
//
// Like Linux's `desc_extra`, what the driver needs to free a chain (links,
// length, token) lives in driver-private arrays: a device scribbling over
// the descriptor table or used ring achieves a DeviceFaultError, never a
// corrupt free list.
//
// The free list is a queue, not a stack (heads come back in use order, as
// with VIRTIO_F_IN_ORDER): a driver reposting in order gives each head its
// last buffer, so descriptor words are not rewritten (desc-writer.ts).

import type { BufferRef } from './chain.ts';
import { indirectTables, writableBytes, writeChain, writeDescriptor } from './desc-writer.ts';
import {
  DeviceFaultError,
  type DeviceQueueFaultKind,
  usedEntryFault,
  VirtqueueUsageError,
} from './errors.ts';
import {
  DESC_SIZE,
  type QueueAddresses,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_WRITE,
} from './layout.ts';
import type { GuestMemory } from './memory.ts';
import { type IndexPublisher, type NotifySwitch, notifyHalves } from './notify.ts';
import { clearRings, type RingIndices, ringIndices } from './queue-setup.ts';
import type { RingIndexAccess } from './ring-index.ts';

const WRITE = VIRTQ_DESC_F_WRITE; // module-local: cheaper than an import (chain-reader.ts)

export interface DriverQueueOptions {
  /** VIRTIO_F_EVENT_IDX was negotiated. */
  eventIdx?: boolean;
  /**
   * VIRTIO_F_INDIRECT_DESC was negotiated, and this guest memory holds one
   * indirect table of `maxEntries` descriptors per head: table h sits at
   * `addr + h * maxEntries * 16` (16-aligned, N * maxEntries * 16 bytes).
   */
  indirect?: { addr: number; maxEntries: number };
}

export class DriverQueue<T = unknown> {
  declare readonly mem: GuestMemory;
  declare readonly size: number;
  declare private readonly memSize: number;
  declare readonly eventIdx: boolean;
  /** Written length of the chain the last reclaim() returned. */
  reclaimedLen = 0;

  declare private readonly ix: RingIndices;
  // Hot indices copied out of `ix` (one load fewer each).
  declare private readonly descIndex: number;
  declare private readonly availRing: number;
  declare private readonly usedRing: number;
  declare private readonly mask: number;
  declare private readonly usedIdxAt: number;
  declare private readonly u16: Uint16Array;
  declare private readonly atomics: RingIndexAccess;
  declare private readonly u32: Uint32Array;
  /**
   * What only the driver knows of descriptor i, in words `i << 2` on: [0]
   * its private link (the free list, and chains' own links); for a head,
   * [1] its chain beyond one descriptor, `(descriptors - 1) << 16 | (tail ^
   * head)`, so freeing needs no walk or branch (0 for one descriptor, and
   * while free: a one-buffer add need not touch it), and [2] its writable
   * bytes (capped like a used len). One array, not three: V8 checks each
   * typed array again on every turn of a loop (its loop stack check forgets
   * what was checked), and a chain's words share a cache line.
   */
  declare private readonly heads: Uint32Array;
  declare private readonly tokens: (T | undefined)[];
  /** Free list: taken from the head, freed chains appended at the tail. */
  private freeHead = 0;
  declare private freeTail: number;
  declare private free: number;
  declare private readonly indirectBase: number;
  declare private readonly indirectMax: number;
  private nextAvail = 0; // avail.idx to publish next
  declare private readonly avail: IndexPublisher;
  declare private readonly interrupts: NotifySwitch;
  /** Next used entry to reclaim, and the last used.idx loaded. */
  private lastUsed = 0;
  private usedShadow = 0;
  private brokenBy: DeviceFaultError | null = null;

  /** Lay a new queue out at the given addresses: the three areas are zeroed. */
  constructor(mem: GuestMemory, queue: QueueAddresses, opts: DriverQueueOptions = {}) {
    this.mem = mem;
    this.memSize = mem.size;
    const ix = ringIndices(mem, queue);
    this.ix = ix;
    this.descIndex = ix.desc;
    this.availRing = ix.availRing;
    this.usedRing = ix.usedRing;
    this.mask = ix.mask;
    this.usedIdxAt = ix.usedIdx;
    const n = queue.size;
    this.size = n;
    this.eventIdx = opts.eventIdx ?? false;
    this.u16 = mem.u16;
    this.atomics = mem.atomics;
    this.u32 = mem.u32;
    const halves = notifyHalves('driver', mem.atomics, ix, this.eventIdx);
    this.avail = halves.publisher;
    this.interrupts = halves.requests;
    clearRings(mem, queue);
    this.heads = new Uint32Array(n << 2);
    for (let i = 0; i < n; i++) this.heads[i << 2] = i + 1; // the last link is never followed
    this.free = n;
    this.freeTail = n - 1;
    // Packed, not holey: reads need no hole check.
    this.tokens = Array.from({ length: n }, () => undefined);
    const tables = indirectTables(mem, n, opts.indirect);
    this.indirectBase = tables.addr;
    this.indirectMax = tables.maxEntries;
  }

  /** Free descriptors in the table. */
  get numFree(): number {
    return this.free;
  }

  /** Chains added and not yet reclaimed. */
  get outstanding(): number {
    return (this.nextAvail - this.lastUsed) & 0xffff;
  }

  /** Why the queue stopped trusting the device, or null. */
  get broken(): DeviceFaultError | null {
    return this.brokenBy;
  }

  /**
   * Add one chain: readable buffers, then writable ones. False when the table
   * has no room (reclaim, then retry). Visible to the device after publish();
   * then ask kickNeeded(). `token` (not undefined) comes back from reclaim().
   */
  add(readable: readonly BufferRef[], writable: readonly BufferRef[], token: T): boolean {
    const total = readable.length + writable.length;
    if (total === 0) throw new VirtqueueUsageError('add: a chain needs at least one buffer');
    if (total > this.size)
      throw new VirtqueueUsageError(`add: ${total} buffers in a queue of ${this.size}`);
    if (total === 1) {
      const w = writable.length === 1;
      const b = w ? writable[0] : readable[0];
      return this.addBuffer(b.addr, b.len, w, token);
    }
    this.checkToken(token);
    if (total <= this.indirectMax) return this.addIndirect(readable, writable, token);
    if (this.free < total) return false;
    const head = this.freeHead;
    const last = writeChain(this.mem, this.descIndex, readable, writable, this.heads, head);
    this.freeHead = this.heads[last << 2];
    this.free -= total;
    this.commit(head, ((total - 1) << 16) | (last ^ head), writableBytes(writable), token);
    return true;
  }

  /** The one-buffer fast path of add(). */
  addBuffer(addr: number, len: number, writable: boolean, token: T): boolean {
    if (this.free === 0) return false;
    if (token === undefined || this.brokenBy !== null) this.checkToken(token);
    // The common case, a u32 address in range, in 32-bit integer compares
    // only: no float compare or conversion below. mem.check() accepts a
    // larger address or names what is wrong.
    const memSize = this.memSize;
    const small = addr >>> 0 === addr && len >>> 0 === len;
    if (!(small && addr < memSize && len <= memSize - addr)) this.mem.check(addr, len);
    const head = this.freeHead;
    const heads = this.heads;
    const h = head << 2;
    this.freeHead = heads[h];
    this.free--;
    const u32 = this.u32;
    const at = this.descIndex + head * 4;
    const flags = writable ? WRITE : 0;
    if (small) {
      // writeDescriptor() inlined for a u32 address: unchanged words stay.
      if (u32[at] !== addr) u32[at] = addr;
      if (u32[at + 1] !== 0) u32[at + 1] = 0;
      if (u32[at + 2] !== len) u32[at + 2] = len;
      if (u32[at + 3] !== flags) u32[at + 3] = flags;
    } else writeDescriptor(u32, at, addr, len, flags);
    const w = writable ? len : 0; // heads[h | 1] is 0 already: one descriptor
    if (heads[h | 2] !== w) heads[h | 2] = w;
    this.tokens[head] = token;
    const slot = this.availRing + (this.nextAvail & this.mask);
    if (this.u16[slot] !== head) this.u16[slot] = head;
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    return true;
  }

  private addIndirect(
    readable: readonly BufferRef[],
    writable: readonly BufferRef[],
    token: T,
  ): boolean {
    if (this.free === 0) return false;
    const head = this.freeHead;
    const table = this.indirectBase + head * this.indirectMax * DESC_SIZE;
    writeChain(this.mem, table / 4, readable, writable, null, 0);
    this.freeHead = this.heads[head << 2];
    this.free--;
    const bytes = (readable.length + writable.length) * DESC_SIZE;
    writeDescriptor(this.u32, this.descIndex + head * 4, table, bytes, VIRTQ_DESC_F_INDIRECT);
    this.commit(head, 0, writableBytes(writable), token);
    return true;
  }

  private checkToken(token: T): void {
    if (token === undefined) throw new VirtqueueUsageError('add: the token must not be undefined');
    if (this.brokenBy !== null) throw this.brokenBy;
  }

  /** `more`: heads' word [1] for this chain (0 for one descriptor). */
  private commit(head: number, more: number, wlen: number, token: T): void {
    // Skip stores that change nothing: fewer stores queue behind the ones
    // that must wait for cache lines the device is reading.
    const heads = this.heads;
    const h = head << 2;
    if (more !== 0) heads[h | 1] = more; // it is 0 while free
    if (heads[h | 2] !== wlen) heads[h | 2] = wlen;
    this.tokens[head] = token;
    // With in-order reuse the slot often holds this head already.
    const slot = this.availRing + (this.nextAvail & this.mask);
    if (this.u16[slot] !== head) this.u16[slot] = head;
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
  }

  /** Store avail.idx once for every chain added since the last publish: the device may now see them. */
  publish(): void {
    this.avail.publish(this.nextAvail);
  }

  /**
   * After publish(): does the device want a kick for what was published
   * since the last decision (EVENT_IDX `avail_event`, or the used ring's
   * NO_NOTIFY flag)? Ring its doorbell when true. A device that polls needs
   * no decision; skipping it keeps this side off the device's cache line.
   */
  kickNeeded(): boolean {
    return this.avail.notifyNeeded();
  }

  /** True when used.idx shows entries not yet reclaimed (loads the shared index). */
  hasUsed(): boolean {
    if (this.lastUsed !== this.usedShadow) return true;
    return this.atomics.load(this.usedIdxAt) !== this.lastUsed;
  }

  /**
   * Take the next used chain back: returns its token (its written length is
   * in `reclaimedLen`), or undefined when none is waiting. Throws a
   * DeviceFaultError when the device wrote something impossible; nothing
   * is freed then, and the queue stays stopped.
   */
  reclaim(): T | undefined {
    if (this.brokenBy !== null) throw this.brokenBy;
    const last = this.lastUsed;
    if (last === this.usedShadow && this.usedWaiting(last) === 0) return undefined;
    // reclaimMany()'s loop body, on fields: V8 inlines it into a caller's loop.
    const at = this.usedRing + 2 * (last & this.mask);
    const raw = this.u32[at];
    const id = raw & 0xffff;
    const len = this.u32[at + 1];
    const token = raw < this.size ? this.tokens[id] : undefined;
    if (token === undefined || len > this.heads[(id << 2) | 2]) throw this.usedFault(last);
    this.release(id);
    this.lastUsed = (last + 1) & 0xffff;
    this.interrupts.follow(this.lastUsed);
    this.reclaimedLen = len;
    return token;
  }

  /** Used entries waiting from `last` on: loads used.idx (its jump breaks the queue). */
  private usedWaiting(last: number): number {
    const idx = this.atomics.load(this.usedIdxAt);
    const ready = (idx - last) & 0xffff;
    if (ready > this.size) this.fault('used-index-jump', `used.idx ${idx}, last reclaimed ${last}`);
    this.usedShadow = idx;
    return ready;
  }

  /**
   * reclaim() for every used chain waiting, up to `max`: their tokens and
   * written lengths go to `tokens[i]` and `lens[i]`; returns how many. The
   * queue's state is updated once per call, not once per chain. A faulty
   * entry stops the batch: it throws if it is the first, else the chains
   * before it are returned and the next call throws.
   */
  reclaimMany(tokens: T[], lens: Uint32Array | number[], max = tokens.length): number {
    if (this.brokenBy !== null) throw this.brokenBy;
    let last = this.lastUsed;
    let ready = (this.usedShadow - last) & 0xffff;
    if (ready === 0 && (ready = this.usedWaiting(last)) === 0) return 0;
    const n = Math.min(ready, max, lens.length);
    const { u32, usedRing, mask, size, heads } = this;
    const own = this.tokens;
    let freeHead = this.freeHead;
    let freeTail = this.freeTail;
    let free = this.free;
    let i = 0;
    for (; i < n; i++) {
      const at = usedRing + 2 * (last & mask);
      const raw = u32[at];
      const id = raw & 0xffff; // = raw when valid; an int32 keeps the free list out of doubles
      const len = u32[at + 1];
      const token = raw < size ? own[id] : undefined;
      // A faulty entry leaves the loop; it is named below. Nothing but a
      // break leaves this loop, so that V8 can peel it (a throw or call in
      // here makes it check every array's map on every chain).
      const h = id << 2;
      if (token === undefined || len > heads[h | 2]) break;
      // Free the chain by its private links, never by the device-visible table.
      if (free === 0) freeHead = id;
      else heads[freeTail << 2] = id;
      // No branch here: V8 compiles a branch never taken into a deopt
      // exit, and a loop with one cannot be peeled.
      const more = heads[h | 1];
      heads[h | 1] = 0;
      freeTail = (more & 0xffff) ^ id;
      free += (more >>> 16) + 1;
      own[id] = undefined;
      tokens[i] = token;
      lens[i] = len;
      last = (last + 1) & 0xffff;
    }
    if (i < n) {
      const fault = this.usedFault(last);
      if (i === 0) throw fault;
    }
    this.freeHead = freeHead;
    this.freeTail = freeTail;
    this.free = free;
    this.lastUsed = last;
    this.interrupts.follow(last);
    return i;
  }

  /** The used entry at `last` is impossible: stop the queue, and name what is wrong. */
  private usedFault(last: number): DeviceFaultError {
    const at = this.usedRing + 2 * (last & this.mask);
    const raw = this.u32[at];
    const id = raw & 0xffff;
    const outstanding = raw < this.size && this.tokens[id] !== undefined;
    const writable = this.heads[(id << 2) | 2];
    this.brokenBy = usedEntryFault(raw, this.u32[at + 1], this.size, outstanding, writable);
    return this.brokenBy;
  }

  /** Return a chain's descriptors to the free list, following private links only. */
  private release(head: number): void {
    const heads = this.heads;
    const more = heads[(head << 2) | 1];
    if (this.free === 0) this.freeHead = head;
    else heads[this.freeTail << 2] = head;
    heads[(head << 2) | 1] = 0;
    this.freeTail = (more & 0xffff) ^ head;
    this.free += (more >>> 16) + 1;
    this.tokens[head] = undefined;
  }

  /**
   * Ask for interrupts again, then re-check the ring: true means used entries
   * arrived meanwhile, so reclaim instead of sleeping (or the wake-up is lost).
   */
  enableInterrupts(): boolean {
    this.interrupts.enable(this.lastUsed);
    return this.hasUsed();
  }

  /** Tell the device not to interrupt while this side polls (a hint with EVENT_IDX). */
  disableInterrupts(): void {
    this.interrupts.disable(this.lastUsed);
  }

  /**
   * Take back every outstanding token without the device (after a reset, when it
   * holds nothing any more). Lay out a new DriverQueue before reusing the addresses.
   */
  detachAll(): T[] {
    const out: T[] = [];
    for (let h = 0; h < this.size; h++) {
      const t = this.tokens[h];
      if (t === undefined) continue;
      out.push(t);
      this.release(h);
    }
    this.lastUsed = this.usedShadow = this.nextAvail;
    return out;
  }

  private fault(kind: DeviceQueueFaultKind, detail: string): never {
    this.brokenBy = new DeviceFaultError(kind, detail);
    throw this.brokenBy;
  }
}
