// The device half of a split virtqueue: take available chains (validated),
// give them back through the used ring, and decide when to interrupt.
//
// Shared fields are read only when this side runs out: `avail.idx` is
// loaded again only once every entry seen so far has been popped, and
// `used.idx` is stored once per publish(), not once per push().

import type { PoppedChain, Segment } from './chain.ts';
import { ChainReader } from './chain-reader.ts';
import { VirtqueueError, VirtqueueUsageError } from './errors.ts';
import { MAX_QUEUE_SIZE, type QueueAddresses } from './layout.ts';
import type { GuestMemory } from './memory.ts';
import { type IndexPublisher, type NotifySwitch, notifyHalves } from './notify.ts';
import { type RingIndices, ringIndices } from './queue-setup.ts';
import type { RingIndexAccess } from './ring-index.ts';

export interface DeviceQueueOptions {
  /** VIRTIO_F_EVENT_IDX was negotiated. */
  eventIdx?: boolean;
  /** VIRTIO_F_INDIRECT_DESC was negotiated. */
  indirect?: boolean;
  /** The device's QueueNumMax (default 32768). */
  maxSize?: number;
}

export class DeviceQueue {
  declare readonly mem: GuestMemory;
  declare readonly size: number;
  declare readonly eventIdx: boolean;
  /**
   * The chain of the last successful popHead(), in reusable arrays (no
   * allocation). Overwritten by the next pop.
   */
  declare readonly chain: ChainReader;

  declare private readonly ix: RingIndices;
  declare private readonly u16: Uint16Array;
  declare private readonly atomics: RingIndexAccess;
  declare private readonly u32: Uint32Array;
  /** Next avail entry to take, and the last avail.idx loaded (both mod 2^16). */
  private lastAvail = 0;
  private availShadow = 0;
  /** Next used entry to fill. */
  private nextUsed = 0;
  declare private readonly used: IndexPublisher;
  declare private readonly kicks: NotifySwitch;
  /** Per head: -1 when not held, else the bytes the device may report written. */
  declare private readonly heldWritable: Float64Array;
  // Hot indices copied out of `ix` (one load fewer each).
  declare private readonly availRing: number;
  declare private readonly usedRing: number;
  declare private readonly mask: number;
  declare private readonly availIdxAt: number;
  private brokenBy: VirtqueueError | null = null;

  constructor(mem: GuestMemory, queue: QueueAddresses, opts: DeviceQueueOptions = {}) {
    this.mem = mem;
    this.ix = ringIndices(mem, queue, opts.maxSize ?? MAX_QUEUE_SIZE);
    this.size = queue.size;
    this.eventIdx = opts.eventIdx ?? false;
    this.u16 = mem.u16;
    this.atomics = mem.atomics;
    this.u32 = mem.u32;
    this.chain = new ChainReader(mem, queue.size, this.ix.desc, opts.indirect ?? false);
    this.heldWritable = new Float64Array(queue.size).fill(-1);
    this.availRing = this.ix.availRing;
    this.usedRing = this.ix.usedRing;
    this.mask = this.ix.mask;
    this.availIdxAt = this.ix.availIdx;
    const halves = notifyHalves('device', mem.atomics, this.ix, this.eventIdx);
    this.used = halves.publisher;
    this.kicks = halves.requests;
  }

  /** Why the queue stopped (it needs a reset: set DEVICE_NEEDS_RESET), or null. */
  get broken(): VirtqueueError | null {
    return this.brokenBy;
  }

  /** Chains popped and not yet pushed back. */
  get inFlight(): number {
    // Every pop (malformed chains included) holds one head until its push.
    return (this.lastAvail - this.nextUsed) & 0xffff;
  }

  /** Used entries pushed but not yet published. */
  get unpublished(): number {
    return (this.nextUsed - this.used.value) & 0xffff;
  }

  /**
   * Take the next available chain into `this.chain` and return its head,
   * or -1 when the ring is empty. A malformed chain is still returned (its
   * `chain.error` is set): push(head, 0) it. Throws a VirtqueueError when
   * the driver broke the queue itself (it then stays broken until reset).
   */
  popHead(): number {
    const last = this.lastAvail;
    if (last === this.availShadow) {
      // A broken queue always comes here: breakQueue() empties the shadow.
      if (this.brokenBy !== null) throw this.brokenBy;
      const idx = this.atomics.load(this.availIdxAt);
      if (idx === last) return -1;
      if (((idx - last) & 0xffff) > this.size) this.badAvailIndex(idx);
      this.availShadow = idx;
    }
    const head = this.u16[this.availRing + (last & this.mask)];
    if (head >= this.size || this.heldWritable[head] >= 0) this.badHead(head);
    this.lastAvail = (last + 1) & 0xffff;
    const reader = this.chain;
    this.heldWritable[head] = reader.read(head) ? reader.writableLen : 0;
    return head;
  }

  // Cold paths, kept out of popHead() so that it stays small enough to inline.
  private badAvailIndex(idx: number): never {
    const detail = `avail.idx ${idx}, last seen ${this.lastAvail}, N=${this.size}`;
    return this.breakQueue('avail-index-jump', detail);
  }

  private badHead(head: number): never {
    const entry = this.lastAvail;
    if (head >= this.size)
      this.breakQueue(
        'head-out-of-range',
        `avail entry ${entry} names head ${head} >= ${this.size}`,
      );
    return this.breakQueue('head-in-flight', `head ${head} offered again before it was used`);
  }

  /** popHead() as an object: a DescriptorChain, or {head, error} for a malformed chain; null when empty. */
  pop(): PoppedChain | null {
    const head = this.popHead();
    if (head < 0) return null;
    const c = this.chain;
    if (c.error !== null) return { head, error: c.error };
    const segments: Segment[] = new Array(c.count);
    for (let i = 0; i < c.count; i++)
      segments[i] = { addr: c.addr[i], len: c.len[i], writable: i >= c.readableCount };
    return { head, segments, readableLen: c.readableLen, writableLen: c.writableLen };
  }

  /** Give a popped chain back with `len` bytes written (0 for a malformed chain). Visible after publish(); then ask interruptNeeded(). */
  push(head: number, len: number): void {
    // NaN, an index past N (undefined) and a free head (-1) all fail this test.
    if (!(len >= 0 && len <= this.heldWritable[head])) this.badPush(head, len);
    this.heldWritable[head] = -1;
    const at = this.usedRing + 2 * (this.nextUsed & this.mask);
    // Often what this slot held last time round (a driver that reuses
    // heads in order): skip the stores, and the line stays shared.
    if (this.u32[at] !== head) this.u32[at] = head;
    if (this.u32[at + 1] !== len) this.u32[at + 1] = len;
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
  }

  private badPush(head: number, len: number): never {
    const w = this.heldWritable[head];
    if (!Number.isInteger(head) || w === undefined || w < 0)
      throw new VirtqueueUsageError(`push(${head}): not a chain this device holds`);
    throw new VirtqueueUsageError(`push(${head}, ${len}): chain has ${w} writable bytes`);
  }

  /** Store used.idx once for everything pushed since the last publish: the driver may now see it. */
  publish(): void {
    this.used.publish(this.nextUsed);
  }

  /**
   * After publish(): does the driver want an interrupt for what was
   * published since the last decision (EVENT_IDX `used_event`, or the avail
   * ring's NO_INTERRUPT flag)? A driver that polls needs no decision.
   */
  interruptNeeded(): boolean {
    return this.used.notifyNeeded();
  }

  /** True when avail.idx shows entries not yet popped (loads the shared index). */
  hasAvailable(): boolean {
    if (this.brokenBy !== null) return false;
    if (this.lastAvail !== this.availShadow) return true;
    return this.atomics.load(this.ix.availIdx) !== this.lastAvail;
  }

  /** How many available entries are not popped yet (loads avail.idx; 0 once broken). */
  available(): number {
    if (this.brokenBy !== null) return 0;
    const n = (this.atomics.load(this.availIdxAt) - this.lastAvail) & 0xffff;
    return n > this.size ? 0 : n;
  }

  /**
   * Ask the driver for kicks again, then re-check the ring: true means
   * entries arrived meanwhile, so pop them instead of sleeping (or the
   * wake-up is lost).
   */
  enableNotifications(): boolean {
    this.kicks.enable(this.availShadow);
    return this.hasAvailable();
  }

  /** Tell the driver not to kick while this side is busy polling (a hint with EVENT_IDX). */
  disableNotifications(): void {
    this.kicks.disable(this.availShadow);
  }

  private breakQueue(
    kind: 'avail-index-jump' | 'head-out-of-range' | 'head-in-flight',
    detail: string,
  ): never {
    this.brokenBy = new VirtqueueError(kind, `${detail}; queue stopped, needs reset`);
    this.availShadow = this.lastAvail;
    throw this.brokenBy;
  }
}
