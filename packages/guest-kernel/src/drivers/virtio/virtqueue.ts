// One virtqueue of a pvkit guest driver: the driver half of the split ring
// (from @pvkit/virtio-ring) in pages of the kernel's own, how to kick the
// device, and the event channel that is this queue's interrupt.
//
// Kick: ring the queue's doorbell (a word the backend waits on), or, for a
// device whose table entry says notify-by-hypercall, write QueueNotify by
// trap (the VMM rings the doorbell). Either way only when the device asked
// (EVENT_IDX avail_event, or the NO_NOTIFY flag): kickNeeded() decides.
// Interrupt: the kernel's upcall runs the handler bound to the queue's port.
import { DEVICE_FLAG, PAGE_SIZE } from '@pvkit/hypercall';
import {
  DESC_SIZE,
  DOORBELL_STRIDE,
  Doorbell,
  DriverQueue,
  GuestMemory,
  layoutSplitQueue,
  type QueueAddresses,
  ringIndices,
  VIRTIO_MMIO,
} from '@pvkit/virtio-ring';
import type { Kernel } from '../../kernel.ts';
import type { DeviceInfo } from '../../start-info.ts';
import type { MmioRegisters } from './mmio.ts';

/** Each part of a ring on its own 128-byte lines: what one side writes never shares a line with the other's. */
const PART_ALIGN = 128;

/** Guest pages of one queue: rings, then (with INDIRECT_DESC) one indirect table per head. */
export interface QueueMemory {
  index: number;
  addrs: QueueAddresses;
  indirect: { addr: number; maxEntries: number } | null;
  /** Pages to give back, as [gpa, count]. */
  pages: [number, number][];
}

/** Take pages for queue `index` of `size` entries (and its indirect tables). */
export function allocQueueMemory(
  kernel: Kernel,
  index: number,
  size: number,
  indirectEntries: number,
): QueueMemory {
  const ringBytes = layoutSplitQueue(0, size, PART_ALIGN).end;
  const ringPages = Math.ceil(ringBytes / PAGE_SIZE);
  const base = kernel.mm.alloc(ringPages);
  const pages: [number, number][] = [[base, ringPages]];
  const addrs = layoutSplitQueue(base, size, PART_ALIGN);
  let indirect: QueueMemory['indirect'] = null;
  if (indirectEntries > 1) {
    const maxEntries = Math.min(indirectEntries, size);
    const n = Math.ceil((size * maxEntries * DESC_SIZE) / PAGE_SIZE);
    const addr = kernel.mm.alloc(n);
    pages.push([addr, n]);
    indirect = { addr, maxEntries };
  }
  return {
    index,
    addrs: { size, desc: addrs.desc, avail: addrs.avail, used: addrs.used },
    indirect,
    pages,
  };
}

export function freeQueueMemory(kernel: Kernel, m: QueueMemory): void {
  for (const [gpa, n] of m.pages) kernel.mm.release(gpa, n);
}

export class Virtqueue<T> {
  declare readonly index: number;
  declare readonly ring: DriverQueue<T>;
  declare readonly port: number;
  declare readonly memory: QueueMemory;
  /** Kicks sent, interrupts taken: the guest's view of notification cost. */
  kicks = 0;
  interrupts = 0;
  /**
   * The device had to be kicked and has not completed anything since: it
   * was asleep, and must get a CPU before anything completes.
   */
  waking = false;
  declare private readonly kickFn: () => void;
  declare private readonly u16: Uint16Array;
  declare private readonly usedIdxAt: number;
  declare private readonly usedEventAt: number;
  /** Used entries taken back (mod 2^16): the driver's side of used.idx. */
  private reclaimed = 0;

  constructor(
    kernel: Kernel,
    regs: MmioRegisters,
    dev: DeviceInfo,
    memory: QueueMemory,
    opts: { eventIdx: boolean; indirect: boolean },
  ) {
    this.index = memory.index;
    this.memory = memory;
    this.port = dev.evtchn + memory.index;
    const ring = new DriverQueue<T>(new GuestMemory(kernel.hv.ringMemory), memory.addrs, {
      eventIdx: opts.eventIdx,
      ...(opts.indirect && memory.indirect ? { indirect: memory.indirect } : {}),
    });
    this.ring = ring;
    this.u16 = ring.mem.u16;
    const ix = ringIndices(ring.mem, memory.addrs);
    this.usedIdxAt = ix.usedIdx;
    this.usedEventAt = ix.usedEvent;
    if ((dev.flags & DEVICE_FLAG.notify_by_hypercall) !== 0) {
      const index = memory.index;
      this.kickFn = () => regs.write(VIRTIO_MMIO.QUEUE_NOTIFY, index);
    } else {
      const words = kernel.hv.deviceDoorbells;
      if (!words) throw new Error('the VMM gave this vCPU no device doorbells');
      const bell = new Doorbell(words, (dev.doorbell + memory.index) * DOORBELL_STRIDE);
      this.kickFn = () => bell.ring();
    }
  }

  /** Make every added chain visible, and kick if the device asked for it. */
  submit(): void {
    const ring = this.ring;
    ring.publish();
    if (ring.kickNeeded()) {
      this.kicks++;
      this.waking = true;
      this.kickFn();
    }
  }

  /** Take back the next used chain (DriverQueue.reclaim), counting it. */
  reclaim(): T | undefined {
    const t = this.ring.reclaim();
    if (t !== undefined) this.reclaimed = (this.reclaimed + 1) & 0xffff;
    return t;
  }

  /**
   * Ask for the next interrupt only once 3/4 of the chains in flight have
   * completed (Linux's virtqueue_enable_cb_delayed, EVENT_IDX): one wake-up
   * per batch instead of one per request, while a quarter of the queue keeps
   * the device busy; below `from` chains in flight, the next completion
   * interrupts as usual. False when the device is already past that point:
   * no interrupt will come for it, reclaim now.
   */
  delayInterrupt(from = 2): boolean {
    const out = this.ring.outstanding;
    if (!this.ring.eventIdx || out < Math.max(2, from)) return !this.ring.hasUsed();
    const k = Math.ceil((out * 3) / 4);
    Atomics.store(this.u16, this.usedEventAt, (this.reclaimed + k - 1) & 0xffff);
    return ((Atomics.load(this.u16, this.usedIdxAt) - this.reclaimed) & 0xffff) < k;
  }

  /** The device's used.idx: it moves whenever the device completes something (progress). */
  deviceProgress(): number {
    return Atomics.load(this.u16, this.usedIdxAt);
  }

  /** Run `handler` for every interrupt (event) of this queue, in the upcall path. */
  onInterrupt(kernel: Kernel, handler: () => void): void {
    kernel.events.bind(this.port, () => {
      this.interrupts++;
      this.waking = false;
      handler();
    });
  }

  unbind(kernel: Kernel): void {
    kernel.events.unbind(this.port);
  }
}
