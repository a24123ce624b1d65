// The driver half of a split virtqueue: lay the rings out, add chains,
// publish them, decide whether to kick, and reclaim what the device used.
//
// Like Linux's `desc_extra`, everything the driver needs to free a chain
// (its descriptor links, its length, its token) lives in driver-private
// arrays: the device can scribble over the descriptor table and the used
// ring, and the worst it achieves is a DeviceFaultError, never a corrupt
// free list.

import { DeviceFaultError, type DeviceQueueFaultKind, VirtqueueUsageError } from './errors.ts';
import {
  availRingSize,
  DESC_SIZE,
  descTableSize,
  needEvent,
  type QueueAddresses,
  usedRingSize,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_USED_F_NO_NOTIFY,
} from './layout.ts';
import type { GuestMemory } from './memory.ts';
import { type RingIndices, ringIndices } from './queue-setup.ts';

/** A buffer to hand to the device (a Segment fits). */
export interface BufferRef {
  addr: number;
  len: number;
}

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

const TWO_32 = 4294967296;

export class DriverQueue<T = unknown> {
  readonly mem: GuestMemory;
  readonly size: number;
  private readonly memSize: number;
  readonly eventIdx: boolean;
  /** Written length of the chain the last reclaim() returned. */
  reclaimedLen = 0;

  private readonly ix: RingIndices;
  // Hot indices copied out of `ix` (one load fewer each).
  private readonly descIndex: number;
  private readonly availRing: number;
  private readonly usedRing: number;
  private readonly mask: number;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;
  /** Private descriptor links: free list, and each chain's own links. */
  private readonly link: Uint16Array;
  /** Per head: direct descriptors used, writable bytes, token (undefined = not outstanding). */
  private readonly descCount: Uint16Array;
  private readonly writableOf: Float64Array;
  private readonly tokens: (T | undefined)[];
  private freeHead = 0;
  private free: number;
  private held = 0;
  private readonly indirectBase: number;
  private readonly indirectMax: number;
  /** avail.idx to publish next, at the last publish, at the last kick decision. */
  private nextAvail = 0;
  private publishedAvail = 0;
  /** Entries published since the last kick decision (not wrapped at 2^16). */
  private unkicked = 0;
  /** Next used entry to reclaim, and the last used.idx loaded. */
  private lastUsed = 0;
  private usedShadow = 0;
  private interruptsOn = true;
  private brokenBy: DeviceFaultError | null = null;

  /** Lay a new queue out at the given addresses: the three areas are zeroed. */
  constructor(mem: GuestMemory, queue: QueueAddresses, opts: DriverQueueOptions = {}) {
    this.mem = mem;
    this.memSize = mem.size;
    this.ix = ringIndices(mem, queue);
    this.descIndex = this.ix.desc;
    this.availRing = this.ix.availRing;
    this.usedRing = this.ix.usedRing;
    this.mask = this.ix.mask;
    const n = queue.size;
    this.size = n;
    this.eventIdx = opts.eventIdx ?? false;
    this.u16 = mem.u16;
    this.u32 = mem.u32;
    mem.u8.fill(0, queue.desc, queue.desc + descTableSize(n));
    mem.u8.fill(0, queue.avail, queue.avail + availRingSize(n));
    mem.u8.fill(0, queue.used, queue.used + usedRingSize(n));
    this.link = new Uint16Array(n);
    for (let i = 0; i < n; i++) this.link[i] = i + 1; // the last link is never followed
    this.free = n;
    this.descCount = new Uint16Array(n);
    this.writableOf = new Float64Array(n);
    this.tokens = new Array<T | undefined>(n).fill(undefined);
    if (opts.indirect) {
      const { addr, maxEntries } = opts.indirect;
      if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > n)
        throw new RangeError(`indirect maxEntries ${maxEntries} must be in 1..${n}`);
      if (addr % DESC_SIZE !== 0)
        throw new RangeError(`indirect tables at ${addr}: not 16-aligned`);
      mem.check(addr, n * maxEntries * DESC_SIZE);
      this.indirectBase = addr;
      this.indirectMax = maxEntries;
    } else {
      this.indirectBase = 0;
      this.indirectMax = 0;
    }
  }

  /** Free descriptors in the table. */
  get numFree(): number {
    return this.free;
  }

  /** Chains added and not yet reclaimed. */
  get outstanding(): number {
    return this.held;
  }

  /** Why the queue stopped trusting the device, or null. */
  get broken(): DeviceFaultError | null {
    return this.brokenBy;
  }

  /**
   * Add one chain: readable buffers, then writable ones. False when the
   * table has no room (reclaim, then retry). Visible to the device after
   * publish(); then ask kickNeeded(). `token` comes back from reclaim(); it must not be undefined.
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
    let i = head;
    let last = head;
    let wlen = 0;
    for (let k = 0; k < total; k++) {
      const w = k >= readable.length;
      const b = w ? writable[k - readable.length] : readable[k];
      const next = this.link[i];
      this.writeDesc(this.descIndex + i * 4, b, w, k + 1 < total ? next : -1);
      if (w) wlen += b.len;
      last = i;
      i = next;
    }
    this.freeHead = this.link[last];
    this.free -= total;
    this.commit(head, total, wlen, token);
    return true;
  }

  /** The one-buffer fast path of add(). */
  addBuffer(addr: number, len: number, writable: boolean, token: T): boolean {
    if (this.free === 0) return false;
    if (token === undefined || this.brokenBy !== null) this.checkToken(token);
    // The common case inline; mem.check() names what is wrong otherwise.
    if (
      !(
        len >>> 0 === len &&
        Number.isSafeInteger(addr) &&
        addr >= 0 &&
        addr < this.memSize &&
        len <= this.memSize - addr
      )
    )
      this.mem.check(addr, len);
    const head = this.freeHead;
    this.freeHead = this.link[head];
    this.free--;
    const at = this.descIndex + head * 4;
    const u32 = this.u32;
    u32[at] = addr; // a Uint32Array store keeps the low 32 bits
    u32[at + 1] = addr < TWO_32 ? 0 : Math.floor(addr / TWO_32);
    u32[at + 2] = len;
    u32[at + 3] = writable ? VIRTQ_DESC_F_WRITE : 0;
    this.commit(head, 1, writable ? len : 0, token);
    return true;
  }

  private addIndirect(
    readable: readonly BufferRef[],
    writable: readonly BufferRef[],
    token: T,
  ): boolean {
    if (this.free === 0) return false;
    const head = this.freeHead;
    const total = readable.length + writable.length;
    const table = this.indirectBase + head * this.indirectMax * DESC_SIZE;
    let wlen = 0;
    for (let k = 0; k < total; k++) {
      const w = k >= readable.length;
      const b = w ? writable[k - readable.length] : readable[k];
      this.writeDesc(table / 4 + k * 4, b, w, k + 1 < total ? k + 1 : -1);
      if (w) wlen += b.len;
    }
    this.freeHead = this.link[head];
    this.free--;
    const at = this.descIndex + head * 4;
    this.u32[at] = table;
    this.u32[at + 1] = Math.floor(table / TWO_32);
    this.u32[at + 2] = total * DESC_SIZE;
    this.u32[at + 3] = VIRTQ_DESC_F_INDIRECT;
    this.commit(head, 1, wlen, token);
    return true;
  }

  private writeDesc(at: number, b: BufferRef, writable: boolean, next: number): void {
    this.mem.check(b.addr, b.len);
    const u32 = this.u32;
    u32[at] = b.addr;
    u32[at + 1] = Math.floor(b.addr / TWO_32);
    u32[at + 2] = b.len;
    const flags = (writable ? VIRTQ_DESC_F_WRITE : 0) | (next >= 0 ? VIRTQ_DESC_F_NEXT : 0);
    u32[at + 3] = flags | (Math.max(next, 0) << 16);
  }

  private checkToken(token: T): void {
    if (token === undefined) throw new VirtqueueUsageError('add: the token must not be undefined');
    if (this.brokenBy !== null) throw this.brokenBy;
  }

  private commit(head: number, descs: number, wlen: number, token: T): void {
    this.descCount[head] = descs;
    this.writableOf[head] = wlen;
    this.tokens[head] = token;
    this.held++;
    this.u16[this.availRing + (this.nextAvail & this.mask)] = head;
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
  }

  /** Store avail.idx once for every chain added since the last publish: the device may now see them. */
  publish(): void {
    const now = this.nextAvail;
    const added = (now - this.publishedAvail) & 0xffff;
    if (added === 0) return;
    Atomics.store(this.u16, this.ix.availIdx, now);
    this.publishedAvail = now;
    this.unkicked += added;
  }

  /**
   * After publish(): does the device want a kick for what was published
   * since the last decision (EVENT_IDX `avail_event`, or the used ring's
   * NO_NOTIFY flag)? Ring its doorbell when true. A device that polls needs
   * no decision; skipping it keeps this side off the device's cache line.
   */
  kickNeeded(): boolean {
    const span = this.unkicked;
    if (span === 0) return false;
    this.unkicked = 0;
    const now = this.publishedAvail;
    // A sleeping device's event index is within N of `now`: the window
    // never needs to reach further back, even after 65536 undecided entries.
    const old = (now - Math.min(span, this.size)) & 0xffff;
    // publish()'s seq-cst store orders before these loads (the spec's barrier).
    if (this.eventIdx) return needEvent(Atomics.load(this.u16, this.ix.availEvent), now, old);
    return (Atomics.load(this.u16, this.ix.usedFlags) & VRING_USED_F_NO_NOTIFY) === 0;
  }

  /** True when used.idx shows entries not yet reclaimed (loads the shared index). */
  hasUsed(): boolean {
    if (this.lastUsed !== this.usedShadow) return true;
    return Atomics.load(this.u16, this.ix.usedIdx) !== this.lastUsed;
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
    if (last === this.usedShadow) {
      const idx = Atomics.load(this.u16, this.ix.usedIdx);
      if (idx === last) return undefined;
      if (((idx - last) & 0xffff) > this.size)
        return this.fault('used-index-jump', `used.idx ${idx}, last reclaimed ${last}`);
      this.usedShadow = idx;
    }
    const at = this.usedRing + 2 * (last & this.mask);
    const id = this.u32[at];
    const len = this.u32[at + 1];
    if (id >= this.size) return this.fault('used-id-out-of-range', `used id ${id} >= ${this.size}`);
    const token = this.tokens[id];
    if (token === undefined)
      return this.fault('used-id-not-outstanding', `used id ${id} is not outstanding`);
    if (len > this.writableOf[id])
      return this.fault(
        'used-len-too-large',
        `used len ${len} > ${this.writableOf[id]} writable bytes (id ${id})`,
      );
    this.release(id);
    this.lastUsed = (last + 1) & 0xffff;
    if (this.eventIdx && this.interruptsOn)
      Atomics.store(this.u16, this.ix.usedEvent, this.lastUsed);
    this.reclaimedLen = len;
    return token;
  }

  /** Return a chain's descriptors to the free list, following private links only. */
  private release(head: number): void {
    const descs = this.descCount[head];
    let tail = head;
    for (let k = descs; k > 1; k--) tail = this.link[tail];
    this.link[tail] = this.freeHead;
    this.freeHead = head;
    this.free += descs;
    this.tokens[head] = undefined;
    this.held--;
  }

  /**
   * Ask the device for interrupts again, then re-check the ring: true means
   * used entries arrived meanwhile, so reclaim instead of sleeping (or the
   * wake-up is lost).
   */
  enableInterrupts(): boolean {
    if (this.eventIdx) Atomics.store(this.u16, this.ix.usedEvent, this.lastUsed);
    else if (!this.interruptsOn) Atomics.store(this.u16, this.ix.availFlags, 0);
    this.interruptsOn = true;
    return this.hasUsed();
  }

  /** Tell the device not to interrupt while this side polls. */
  disableInterrupts(): void {
    if (!this.interruptsOn) return;
    this.interruptsOn = false;
    if (this.eventIdx) {
      // An event index just behind the last reclaimed entry: the device
      // crosses it again only after 65536 more entries (one spurious
      // interrupt; EVENT_IDX suppression is a hint).
      Atomics.store(this.u16, this.ix.usedEvent, (this.lastUsed - 1) & 0xffff);
    } else {
      Atomics.store(this.u16, this.ix.availFlags, VRING_AVAIL_F_NO_INTERRUPT);
    }
  }

  /**
   * Take back every outstanding token without the device (after a reset,
   * when the device holds nothing any more). Lay the queue out anew (a new
   * DriverQueue) before using these addresses again.
   */
  detachAll(): T[] {
    const out: T[] = [];
    for (let h = 0; h < this.size; h++) {
      const t = this.tokens[h];
      if (t === undefined) continue;
      out.push(t);
      this.release(h);
    }
    return out;
  }

  private fault(kind: DeviceQueueFaultKind, detail: string): never {
    this.brokenBy = new DeviceFaultError(kind, detail);
    throw this.brokenBy;
  }
}
