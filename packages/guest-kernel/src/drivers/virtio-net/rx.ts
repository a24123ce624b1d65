// The receive half of the virtio-net driver (Linux virtio_net.c's
// receive_buf / try_fill_recv, reduced). Every rx buffer is a fixed slot of
// kernel pages posted as one device-writable descriptor; the ring is kept
// full: a buffer goes back to the device as soon as its frame has been
// handed to the stack (which copies what it keeps), and all refills of one
// interrupt are published at once.
//
// With MRG_RXBUF a frame may span several buffers: the first buffer's
// header says how many (num_buffers); they are gathered into one scratch
// frame. A buffer shorter than a header plus an Ethernet header is the
// device's way of giving a buffer back empty: counted, reposted.
import {
  DeviceFaultError,
  ETH_HLEN,
  NET_HDR_SIZE,
  NetHdrFlag,
  NetHdrOffset,
} from '@pvkit/virtio-ring';
import type { Kernel } from '../../kernel.ts';
import { freeQueueMemory, type Virtqueue } from '../virtio/virtqueue.ts';

export type FrameHandler = (buf: Uint8Array, off: number, len: number, dataValid: boolean) => void;

export class NetRxStats {
  frames = 0;
  bytes = 0;
  /** Frames that spanned several buffers. */
  merged = 0;
  /** Used buffers too short to hold a frame (the device gave them back empty). */
  empty = 0;
  /** Merged frames that made no sense (num_buffers 0, larger than the scratch, cut short). */
  bad = 0;
}

/** The largest merged frame we assemble: header + 64 KiB. */
const MAX_MERGED = NET_HDR_SIZE + 65536;
/**
 * Where a merged frame starts in the scratch: at the phase (mod 8) it has
 * in its first rx buffer, behind the 12-byte header, so that V8 copies it
 * out of guest memory word by word (see FRAME_ALIGN_PHASE in the stack).
 */
const MERGED_AT = NET_HDR_SIZE & 7;

export class NetRx {
  declare readonly vq: Virtqueue<number>;
  declare readonly bufSize: number;
  readonly stats = new NetRxStats();
  /** Set when the device broke the used ring; nothing is received after that. */
  broken: string | null = null;

  declare private readonly u8: Uint8Array;
  declare private readonly base: number;
  declare private readonly mergeable: boolean;
  declare private readonly guestCsum: boolean;
  declare private readonly deliver: FrameHandler;
  // A merged frame being gathered: its bytes so far, buffers still to come.
  declare private readonly scratch: Uint8Array;
  private have = 0;
  private missing = 0;
  private mergedValid = false;
  /** reclaimMany()'s batch: slots and written lengths. */
  declare private readonly slots: number[];
  declare private readonly lens: Uint32Array;

  constructor(
    kernel: Kernel,
    vq: Virtqueue<number>,
    opts: { bufSize: number; mergeable: boolean; guestCsum: boolean; deliver: FrameHandler },
  ) {
    this.vq = vq;
    this.u8 = kernel.hv.u8;
    this.bufSize = opts.bufSize;
    this.mergeable = opts.mergeable;
    this.guestCsum = opts.guestCsum;
    this.deliver = opts.deliver;
    this.scratch = new Uint8Array(opts.mergeable ? MERGED_AT + MAX_MERGED : 0);
    const n = vq.ring.size;
    this.slots = new Array<number>(n).fill(0);
    this.lens = new Uint32Array(n);
    this.base = kernel.mm.alloc(Math.ceil((n * opts.bufSize) / 4096));
    for (let i = 0; i < n; i++)
      vq.ring.addBuffer(this.base + i * opts.bufSize, opts.bufSize, true, i);
    vq.submit();
  }

  /**
   * The queue's interrupt: hand every used buffer's frame to the stack,
   * repost the buffers, publish once. Returns the frames delivered.
   */
  poll(): number {
    if (this.broken !== null) return 0;
    const ring = this.vq.ring;
    const slots = this.slots;
    const lens = this.lens;
    const size = this.bufSize;
    let n = 0;
    try {
      // As NAPI does: no interrupts while we poll (the device would raise
      // events nobody waits for, and each reclaim would move used_event).
      ring.disableInterrupts();
      do {
        for (
          let got = ring.reclaimMany(slots, lens);
          got > 0;
          got = ring.reclaimMany(slots, lens)
        ) {
          for (let i = 0; i < got; i++) {
            const slot = slots[i];
            const addr = this.base + slot * size;
            n += this.take(addr, lens[i]);
            ring.addBuffer(addr, size, true, slot);
          }
          this.vq.submit();
        }
      } while (ring.enableInterrupts());
    } catch (e) {
      if (!(e instanceof DeviceFaultError)) throw e;
      this.broken = `the device broke the rx used ring: ${e.message}`;
    }
    return n;
  }

  /** After a reset (Status read 0): give the buffers and the ring back. */
  release(kernel: Kernel): void {
    this.broken ??= 'the device was reset';
    kernel.mm.release(this.base, Math.ceil((this.vq.ring.size * this.bufSize) / 4096));
    freeQueueMemory(kernel, this.vq.memory);
  }

  /** One used buffer of `len` bytes at `addr`: a whole frame, or part of a merged one. */
  private take(addr: number, len: number): number {
    const u8 = this.u8;
    if (this.missing > 0) return this.append(addr, len);
    if (len < NET_HDR_SIZE + ETH_HLEN) {
      this.stats.empty++;
      return 0;
    }
    const flags = u8[addr + NetHdrOffset.FLAGS];
    // NEEDS_CSUM on receive means "checksum partial, data verified" (Linux CHECKSUM_PARTIAL).
    const valid = this.guestCsum && (flags & (NetHdrFlag.DATA_VALID | NetHdrFlag.NEEDS_CSUM)) !== 0;
    const nb = this.mergeable
      ? u8[addr + NetHdrOffset.NUM_BUFFERS] | (u8[addr + NetHdrOffset.NUM_BUFFERS + 1] << 8)
      : 1;
    if (nb <= 1) {
      if (nb === 0) this.stats.bad++;
      return this.frame(u8, addr + NET_HDR_SIZE, len - NET_HDR_SIZE, valid);
    }
    this.scratch.set(u8.subarray(addr + NET_HDR_SIZE, addr + len), MERGED_AT);
    this.have = len - NET_HDR_SIZE;
    this.missing = nb - 1;
    this.mergedValid = valid;
    return 0;
  }

  private append(addr: number, len: number): number {
    if (this.have + len > MAX_MERGED) {
      // Never cut a frame silently: drop it whole (and the rest of its buffers).
      this.have = MAX_MERGED + 1;
    } else {
      this.scratch.set(this.u8.subarray(addr, addr + len), MERGED_AT + this.have);
      this.have += len;
    }
    if (--this.missing > 0) return 0;
    if (this.have > MAX_MERGED) {
      this.stats.bad++;
      return 0;
    }
    this.stats.merged++;
    return this.frame(this.scratch, MERGED_AT, this.have, this.mergedValid);
  }

  private frame(buf: Uint8Array, off: number, len: number, valid: boolean): number {
    this.stats.frames++;
    this.stats.bytes += len;
    this.deliver(buf, off, len, valid);
    return 1;
  }
}
