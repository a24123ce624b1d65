// The decision half of a learning Ethernet switch, with no I/O: given the
// port a frame came in on and its first bytes, learn the source and say
// where the frame goes. The switch worker does the copying (once, from the
// sender's tx buffer into each receiver's rx buffer) and reports back whether
// each delivery found an rx buffer, so the counters live in one place.

import {
  ETH_FRAME_LEN,
  ETH_HLEN,
  EthOffset,
  macIsMulticast,
  macIsZero,
  macToKey,
} from '@pvkit/virtio-ring';
import { MacTable, type MacTableOptions } from './mac-table.ts';

/** forward() result: send to every port but the ingress one. */
export const FLOOD = -1;
/** forward() result: do not forward (the counter says why). */
export const DROP = -2;

export class PortCounters {
  rxFrames = 0;
  rxBytes = 0;
  /** Shorter than an Ethernet header. */
  rxRunts = 0;
  /** Longer than the switch's maximum frame. */
  rxOversize = 0;
  /** Multicast or all-zero source MAC: not a station, never learned. */
  rxBadSource = 0;
  /** Destination lives on the port the frame came from. */
  rxFiltered = 0;
  /** Frames from this port sent to every other port (broadcast, multicast, unknown). */
  rxFlooded = 0;
  txFrames = 0;
  txBytes = 0;
  /** The receiver had no rx buffer: dropped, never waited for. */
  txDropped = 0;
}

export interface SwitchOptions extends MacTableOptions {
  /** Largest frame accepted, without FCS (default 1514: MTU 1500). */
  maxFrameLen?: number;
}

export class LearningSwitch {
  declare readonly table: MacTable;
  declare readonly maxFrameLen: number;
  private readonly counters = new Map<number, PortCounters>();
  private portList: number[] = [];

  constructor(opts: SwitchOptions = {}) {
    this.table = new MacTable(opts);
    this.maxFrameLen = opts.maxFrameLen ?? ETH_FRAME_LEN;
  }

  /** Port ids in the order they were added (flood targets, minus the ingress port). */
  get ports(): readonly number[] {
    return this.portList;
  }

  addPort(id: number): PortCounters {
    if (!Number.isInteger(id) || id < 0)
      throw new RangeError(`port id ${id} must be an integer >= 0`);
    if (this.counters.has(id)) throw new RangeError(`port ${id} already exists`);
    const c = new PortCounters();
    this.counters.set(id, c);
    this.portList = [...this.portList, id];
    return c;
  }

  removePort(id: number): void {
    if (!this.counters.delete(id)) return;
    this.table.flushPort(id);
    this.portList = this.portList.filter((p) => p !== id);
  }

  stats(id: number): PortCounters {
    const c = this.counters.get(id);
    if (c === undefined) throw new RangeError(`no port ${id}`);
    return c;
  }

  /**
   * Where a `len`-byte frame from `inPort` goes: a port id, FLOOD or DROP.
   * Only the two MACs are read: `head[off, off + 12)` must hold them (the
   * worker may gather just those bytes from a split chain). Learns the source.
   */
  forward(inPort: number, head: Uint8Array, off: number, len: number, now: number): number {
    const c = this.stats(inPort);
    c.rxFrames++;
    c.rxBytes += len;
    if (len < ETH_HLEN) {
      c.rxRunts++;
      return DROP;
    }
    if (len > this.maxFrameLen) {
      c.rxOversize++;
      return DROP;
    }
    const src = off + EthOffset.SRC;
    if (macIsMulticast(head, src) || macIsZero(head, src)) {
      c.rxBadSource++;
      return DROP;
    }
    this.table.learn(macToKey(head, src), inPort, now);
    if (macIsMulticast(head, off + EthOffset.DST)) {
      c.rxFlooded++;
      return FLOOD;
    }
    const out = this.table.lookup(macToKey(head, off + EthOffset.DST), now);
    if (out === inPort) {
      c.rxFiltered++;
      return DROP;
    }
    if (out < 0 || !this.counters.has(out)) {
      c.rxFlooded++;
      return FLOOD;
    }
    return out;
  }

  /** The worker reports each delivery attempt to `outPort`. */
  delivered(outPort: number, len: number, ok: boolean): void {
    const c = this.counters.get(outPort);
    if (c === undefined) return;
    if (ok) {
      c.txFrames++;
      c.txBytes += len;
    } else {
      c.txDropped++;
    }
  }
}
