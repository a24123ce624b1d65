// The data path of the switch worker: every attached NIC's transmit queue is
// drained in turn (a bounded batch per NIC per pass, so a flooding guest
// cannot starve the others), each frame goes where the learning switch says
// (LearningSwitch: MAC table with ageing, broadcast/unknown flooding) and is
// copied once, from the sender's tx buffer into the receiver's rx buffers
// (RxWriter).
//
// Backpressure: a unicast frame whose receiver has no rx buffer right now
// waits in its sender's tx ring (the chain is held, not completed), as
// QEMU's net layer holds a tx element while the peer cannot receive: the
// sender's ring fills and it blocks instead of sending frames that would be
// thrown away. The wait is bounded (SWITCH_HOLD_MS): a receiver that does
// not refill in time has the frame dropped (counted), and is then "stalled":
// frames for it are dropped at once until it has posted a batch of buffers
// again, so a slow or hostile guest can delay its senders' other traffic by
// at most that much. Broadcast and flooded frames never wait: a port with no
// buffer loses them (counted).
//
// Link status (the toolstack's setLink): a port whose link is down gets
// nothing (rxLinkDown) and sends nothing (txLinkDown).
//
// Checksum offload: a frame sent NEEDS_CSUM crosses as it is and reaches a
// receiver that acked GUEST_CSUM as DATA_VALID; any other receiver gets the
// checksum completed in its own copy.

import type { DeviceQueue } from '@pvkit/virtio-ring';
import { NET_COUNTER } from './counters.ts';
import { BROKEN, type NetPort } from './port.ts';
import { type CsumRequest, RxWriter } from './rx-writer.ts';
import { DROP, FLOOD, LearningSwitch, type SwitchOptions } from './switch-core.ts';
import { TxFrame, type TxFrameError } from './tx-frame.ts';

/** Frames taken from one NIC's tx queue per pass. */
export const SWITCH_TX_BUDGET = 64;
/** The longest a unicast frame waits in its sender's tx ring for the receiver's rx buffers. */
export const SWITCH_HOLD_MS = 5;
/** Rx buffers a stalled receiver must post before frames wait for it again (at most a quarter of its ring). */
const UNSTALL_BUFFERS = 64;
/** Most ranges a tx chain may have (our queues have at most 256 entries). */
const MAX_TX_SEGMENTS = 256;

export class SwitchEngine {
  declare readonly sw: LearningSwitch;
  private readonly byId = new Map<number, NetPort>();
  private list: NetPort[] = [];
  private readonly writer = new RxWriter();
  private readonly txf = new TxFrame(MAX_TX_SEGMENTS);
  private readonly csum: CsumRequest = { needsCsum: false, csumStart: 0, csumOffset: 0 };
  /** Frames moved since the counters were last mirrored. */
  private sinceMirror = 0;
  /** NICs whose tx ring has a frame held for its receiver after the last pass. */
  held = 0;

  constructor(opts: SwitchOptions = {}) {
    this.sw = new LearningSwitch(opts);
  }

  get ports(): readonly NetPort[] {
    return this.list;
  }

  port(id: number): NetPort | undefined {
    return this.byId.get(id);
  }

  add(port: NetPort): void {
    this.sw.addPort(port.id);
    this.byId.set(port.id, port);
    this.list = [...this.list, port];
    port.sync();
  }

  /** Unplug a NIC: its MACs are forgotten, its counters written out, its memory let go. */
  remove(id: number): void {
    const p = this.byId.get(id);
    if (p === undefined) return;
    this.mirror(p);
    p.flushCounters();
    this.sw.removePort(id);
    this.byId.delete(id);
    this.list = this.list.filter((x) => x !== p);
  }

  /** One pass over every NIC; returns the frames taken from tx queues. */
  pass(nowMs: number): number {
    let moved = 0;
    let held = 0;
    const list = this.list;
    // Every port first: a receiver's state (queues, link) is current when frames reach it.
    for (let i = 0; i < list.length; i++) list[i].sync();
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p.txq !== null) moved += this.drain(p, nowMs);
      if (p.heldHead >= 0) held++;
    }
    this.held = held;
    if (moved > 0) {
      for (let i = 0; i < list.length; i++) if (list[i].rxUnpublished) list[i].publishRx();
      this.sinceMirror += moved;
      if (this.sinceMirror >= 4096) this.mirrorAll();
    }
    return moved;
  }

  private drain(p: NetPort, nowMs: number): number {
    const q = p.txq;
    if (q === null) return 0;
    let n = 0;
    if (p.heldHead >= 0) {
      if (!this.retryHeld(p, q, nowMs)) return 0;
      n = 1;
    }
    for (; n < SWITCH_TX_BUDGET; n++) {
      const head = p.popTx(q);
      if (head === BROKEN) return n;
      if (head < 0) break;
      const malformed = q.chain.error !== null;
      if (!malformed && !this.forward(p, nowMs)) {
        // Held: the chain stays popped (q.chain keeps it) and nothing more is taken.
        p.heldHead = head;
        p.heldSince = nowMs;
        p.count(NET_COUNTER.txHeld);
        break;
      }
      q.push(head, 0);
      p.tx.count(0, malformed);
    }
    if (n > 0) p.tx.publish(q);
    return n;
  }

  /** The frame held in `p`'s tx ring: deliver it if its receiver has room or waited long enough. */
  private retryHeld(p: NetPort, q: DeviceQueue, nowMs: number): boolean {
    const f = this.txf;
    const dst = this.byId.get(p.heldFor);
    if (dst !== undefined && this.mustWait(dst)) {
      if (nowMs - p.heldSince < SWITCH_HOLD_MS) return false;
      dst.stalled = true;
    }
    // Read again: the frame is the guest's, it may have changed under us.
    if (!f.read(p.u8, q.chain, p.features, p.csum)) countTxError(p, f.error);
    else if (dst !== undefined) this.deliverTo(dst, f.frameLen, this.csumOf(f));
    q.push(p.heldHead, 0);
    p.tx.count(0, false);
    p.heldHead = -1;
    return true;
  }

  /** A unicast frame for `dst` must wait: it has no rx buffer now, and is not stalled. */
  private mustWait(dst: NetPort): boolean {
    const r = dst.rxq;
    if (r === null || !dst.linkUp) return false;
    if (dst.stalled) {
      if (r.available() >= Math.min(UNSTALL_BUFFERS, r.size >> 2)) dst.stalled = false;
      return false;
    }
    return !r.hasAvailable();
  }

  /** Copy the frame in this.txf into `dst`'s rx buffers, unless its link is down (counted). */
  private deliverTo(dst: NetPort, len: number, c: CsumRequest): void {
    if (!dst.linkUp) dst.count(NET_COUNTER.rxLinkDown);
    else this.sw.delivered(dst.id, len, this.writer.deliver(dst, this.txf.frame, c));
  }

  private csumOf(f: TxFrame): CsumRequest {
    const c = this.csum;
    c.needsCsum = f.needsCsum;
    c.csumStart = f.hdr.csumStart;
    c.csumOffset = f.hdr.csumOffset;
    return c;
  }

  /** Forward the frame of `p`'s last popped chain; false when it must be held for its receiver. */
  private forward(p: NetPort, nowMs: number): boolean {
    const q = p.txq;
    if (q === null) return true;
    const f = this.txf;
    if (!f.read(p.u8, q.chain, p.features, p.csum)) {
      countTxError(p, f.error);
      return true;
    }
    const len = f.frameLen;
    if (!p.linkUp) {
      // A pulled cable carries nothing: a driver that ignores its link status loses the frame.
      p.count(NET_COUNTER.txLinkDown);
      return true;
    }
    const out = this.sw.forward(p.id, f.macBuf, f.macOff, len, nowMs);
    if (out === DROP) return true;
    p.count(NET_COUNTER.txFrames);
    p.count(NET_COUNTER.txBytes, len);
    const c = this.csumOf(f);
    if (out !== FLOOD) {
      const dst = this.byId.get(out);
      if (dst === undefined) return true;
      if (this.mustWait(dst)) {
        p.heldFor = out;
        return false;
      }
      this.deliverTo(dst, len, c);
      return true;
    }
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      const dst = list[i];
      if (dst !== p) this.deliverTo(dst, len, c);
    }
    return true;
  }

  /**
   * The NICs that held frames wait for (into `out`), and when the first of
   * those waits ends (ms; Infinity when nothing is held): a switch going to
   * sleep listens for their rx kicks and wakes by then at the latest.
   */
  waitedFor(out: NetPort[]): number {
    out.length = 0;
    let until = Number.POSITIVE_INFINITY;
    for (const p of this.list) {
      if (p.heldHead < 0) continue;
      const dst = this.byId.get(p.heldFor);
      if (dst !== undefined && !out.includes(dst)) out.push(dst);
      until = Math.min(until, p.heldSince + SWITCH_HOLD_MS);
    }
    return until;
  }

  /** Forget aged MAC entries (call every few seconds). */
  sweep(nowMs: number): number {
    return this.sw.table.sweep(nowMs);
  }

  /** Write every NIC's counters into the shared counters (before sleeping, and now and then). */
  mirrorAll(): void {
    this.sinceMirror = 0;
    for (const p of this.list) {
      this.mirror(p);
      p.flushCounters();
    }
  }

  /** The switch's per-port view (LearningSwitch) into the NIC's net slots. */
  private mirror(p: NetPort): void {
    const s = this.sw.stats(p.id);
    const c = p.c;
    const b = p.nb;
    c[b + NET_COUNTER.txRunts] = s.rxRunts;
    c[b + NET_COUNTER.txOversize] = s.rxOversize;
    c[b + NET_COUNTER.txBadSource] = s.rxBadSource;
    c[b + NET_COUNTER.txFiltered] = s.rxFiltered;
    c[b + NET_COUNTER.txFlooded] = s.rxFlooded;
  }
}

/** Count a tx frame that could not be taken, and remember why (for logs and tests). */
export function countTxError(p: NetPort, e: TxFrameError | null): void {
  p.count(NET_COUNTER.txBadHeader);
  p.lastTxError = e;
}
