// The transmit half of the virtio-net driver (Linux start_xmit /
// free_old_xmit, reduced). The stack hands a frame that is valid only during
// the call: it is copied, behind its virtio_net_hdr, into a tx slot of
// kernel pages and offered as one device-readable descriptor. Used tx
// buffers are reclaimed lazily when slots run short, with tx interrupts off;
// only a sender waiting for room asks for one, once 3/4 of its slots are back.
import { DeviceFaultError, NET_HDR_SIZE, NetHdrFlag, NetHdrOffset } from '@pvkit/virtio-ring';
import type { Kernel } from '../../kernel.ts';
import type { TxOptions } from '../../net/index.ts';
import { WaitQueue } from '../../sched.ts';
import { freeQueueMemory, type Virtqueue } from '../virtio/virtqueue.ts';

/** A tx slot: header + the largest frame (1514) fits, 16-byte aligned. */
export const TX_SLOT_SIZE = 2048;
/** Reclaim when fewer slots than this are free. */
const RECLAIM_BELOW = 32;

export class NetTxStats {
  frames = 0;
  bytes = 0;
  /** Frames handed down with NEEDS_CSUM. */
  csumOffloaded = 0;
  /** transmit() found no free slot (the stack counts ENOBUFS too). */
  full = 0;
  /** Frames larger than a slot (never with the stack's MTU). */
  tooBig = 0;
}

export class NetTx {
  declare readonly vq: Virtqueue<number>;
  readonly stats = new NetTxStats();
  broken: string | null = null;
  /** Tasks parked for a free slot (the idle loop then waits for the tx interrupt without a trap). */
  waiting = 0;
  declare private readonly u8: Uint8Array;
  declare private readonly base: number;
  declare private readonly free: Int32Array;
  declare private nFree: number;
  declare private readonly csum: boolean;
  declare private readonly roomWaiters: WaitQueue;
  declare private readonly nowNs: () => number;

  constructor(kernel: Kernel, vq: Virtqueue<number>, csumAcked: boolean) {
    this.vq = vq;
    this.u8 = kernel.hv.u8;
    this.csum = csumAcked;
    this.roomWaiters = new WaitQueue(kernel.sched);
    this.nowNs = () => kernel.time.nowNs();
    const n = vq.ring.size;
    this.base = kernel.mm.alloc(Math.ceil((n * TX_SLOT_SIZE) / 4096));
    this.free = new Int32Array(n);
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.nFree = n;
    vq.ring.disableInterrupts();
    vq.onInterrupt(kernel, () => this.interrupt());
  }

  /** Free slots (after reclaiming what the device has used). */
  room(): number {
    if (this.nFree < RECLAIM_BELOW) this.reclaim();
    return this.broken === null ? this.nFree : 0;
  }

  /** NetLink.transmit: copy the frame into a slot and offer it. False: no room. */
  transmit(frame: Uint8Array, opts: TxOptions): boolean {
    if (this.nFree < RECLAIM_BELOW) this.reclaim();
    if (this.nFree === 0 || this.broken !== null) {
      this.stats.full++;
      return false;
    }
    if (frame.length + NET_HDR_SIZE > TX_SLOT_SIZE) {
      this.stats.tooBig++;
      return false;
    }
    const slot = this.free[--this.nFree];
    const at = this.base + slot * TX_SLOT_SIZE;
    const u8 = this.u8;
    // virtio_net_hdr, little-endian: flags, no GSO, checksum offsets, num_buffers 0.
    for (let i = 0; i < NET_HDR_SIZE; i++) u8[at + i] = 0;
    const c = opts.needsCsum;
    if (c !== undefined && this.csum) {
      u8[at + NetHdrOffset.FLAGS] = NetHdrFlag.NEEDS_CSUM;
      u8[at + NetHdrOffset.CSUM_START] = c.start & 0xff;
      u8[at + NetHdrOffset.CSUM_START + 1] = c.start >>> 8;
      u8[at + NetHdrOffset.CSUM_OFFSET] = c.offset & 0xff;
      u8[at + NetHdrOffset.CSUM_OFFSET + 1] = c.offset >>> 8;
      this.stats.csumOffloaded++;
    }
    u8.set(frame, at + NET_HDR_SIZE);
    if (!this.vq.ring.addBuffer(at, NET_HDR_SIZE + frame.length, false, slot)) {
      this.free[this.nFree++] = slot;
      this.stats.full++;
      return false;
    }
    this.vq.submit();
    this.stats.frames++;
    this.stats.bytes += frame.length;
    return true;
  }

  /** Take back every slot the device has used. */
  reclaim(): number {
    if (this.broken !== null) return 0;
    let n = 0;
    try {
      for (let s = this.vq.reclaim(); s !== undefined; s = this.vq.reclaim()) {
        this.free[this.nFree++] = s;
        n++;
      }
    } catch (e) {
      if (!(e instanceof DeviceFaultError)) throw e;
      this.broken = `the device broke the tx used ring: ${e.message}`;
      this.roomWaiters.wakeAll();
    }
    return n;
  }

  /**
   * Wait for a free slot: poll the used ring up to `pollNs` first (the
   * device is busy with our frames: slots come back within microseconds,
   * while a block and its wake-up cost a trap and a thread wake-up), then
   * park with tx interrupts on.
   */
  async waitRoom(pollNs: number): Promise<void> {
    if (this.room() > 0 || this.broken !== null) return;
    if (pollNs > 0) {
      const until = this.nowNs() + pollNs;
      for (let i = 1; ; i++) {
        if (this.vq.ring.hasUsed() && this.reclaim() > 0) return;
        if ((i & 63) === 0 && this.nowNs() >= until) break;
      }
    }
    // Wake when 3/4 of the ring has gone out (Linux's virtqueue_enable_cb_delayed):
    // one wake-up per batch of slots, not one per slot.
    const ring = this.vq.ring;
    while (this.room() === 0 && this.broken === null) {
      const armed =
        ring.eventIdx && ring.outstanding >= 2
          ? this.vq.delayInterrupt()
          : !ring.enableInterrupts();
      if (!armed) continue; // used entries are already waiting
      this.waiting++;
      await this.roomWaiters.wait();
      this.waiting--;
    }
  }

  /** The device went down: nothing more goes out on this ring; senders waiting for room return. */
  fail(why: string): void {
    if (this.broken === null) this.broken = why;
    this.roomWaiters.wakeAll();
  }

  /** After a reset (Status read 0): give the slots and the ring back. */
  release(kernel: Kernel): void {
    this.fail('the device was reset');
    kernel.mm.release(this.base, Math.ceil((this.vq.ring.size * TX_SLOT_SIZE) / 4096));
    freeQueueMemory(kernel, this.vq.memory);
  }

  private interrupt(): void {
    this.reclaim();
    if (this.nFree > 0 || this.broken !== null) {
      this.vq.ring.disableInterrupts();
      this.roomWaiters.wakeAll();
    }
  }
}
