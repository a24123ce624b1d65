// Delivering one frame into a guest's receive queue: take rx buffers (one,
// or with MRG_RXBUF as many as the frame needs), write the virtio_net_hdr
// and the frame in one copy from wherever it is (another guest's tx buffer,
// a socket buffer), settle the checksum, and push the used entries. The
// publish is left to the caller, so a burst of frames costs one used.idx
// store and at most one interrupt.
//
// An empty rx queue drops the frame (counted): a backend never waits for a
// guest. Rx buffers that are malformed, readable, or too small for the frame
// are given back with length 0 (a driver treats that as an empty buffer,
// as Linux's virtio_net does) and the frame is dropped and counted.

import {
  completeChecksum,
  NET_HDR_SIZE,
  NetHdrFlag,
  NetHdrOffset,
  VirtqueueError,
  writeRxNetHdr,
} from '@pvkit/virtio-ring';
import { NET_COUNTER } from './counters.ts';
import type { NetPort } from './port.ts';
import { copySegments, Segments } from './segments.ts';

/** A frame never needs more rx buffers than this (1514 + 12 bytes in 64-byte buffers = 24). */
const MAX_RX_CHAINS = 64;
/** Writable ranges taken over all chains of one frame. */
const MAX_RX_SEGMENTS = 256;

/** How the sender asked for the L4 checksum (virtio NEEDS_CSUM), offsets from the frame start. */
export interface CsumRequest {
  needsCsum: boolean;
  csumStart: number;
  csumOffset: number;
}

export const NO_CSUM: CsumRequest = { needsCsum: false, csumStart: 0, csumOffset: 0 };

export class RxWriter {
  private readonly dst = new Segments(MAX_RX_SEGMENTS);
  private readonly heads = new Int32Array(MAX_RX_CHAINS);
  private readonly caps = new Float64Array(MAX_RX_CHAINS);
  private readonly scratch = new Uint8Array(65536 + NET_HDR_SIZE);
  private readonly scratchSegs = new Segments(1);
  private readonly hdr = new Uint8Array(NET_HDR_SIZE);
  private readonly hdrSegs = new Segments(1);

  /**
   * Deliver the `src.total`-byte frame to `port`. True when it was written
   * (the caller publishes later: port.rxUnpublished is set); false when it
   * was dropped (counted on the port).
   */
  deliver(port: NetPort, src: Segments, csum: CsumRequest): boolean {
    const q = port.rxq;
    if (q === null) {
      port.count(NET_COUNTER.rxDropped);
      return false;
    }
    const frameLen = src.total;
    const total = NET_HDR_SIZE + frameLen;
    const dst = this.dst;
    dst.clear(port.u8);
    let chains = 0;
    let cap = 0;
    while (cap < total) {
      let head: number;
      try {
        head = q.popHead();
      } catch (e) {
        if (!(e instanceof VirtqueueError)) throw e;
        port.breakRx(e);
        port.count(NET_COUNTER.rxDropped);
        return false;
      }
      if (head < 0) return this.giveBack(port, chains, NET_COUNTER.rxDropped);
      this.heads[chains] = head;
      this.caps[chains] = 0;
      chains++;
      const r = q.chain;
      if (r.error !== null || r.readableCount > 0)
        return this.giveBack(port, chains, NET_COUNTER.rxBufferErrors);
      for (let i = 0; i < r.count; i++)
        if (!dst.push(r.addr[i], r.len[i]))
          return this.giveBack(port, chains, NET_COUNTER.rxBufferErrors);
      this.caps[chains - 1] = r.writableLen;
      cap += r.writableLen;
      const more = cap < total;
      if (more && (!port.mergeable || chains === MAX_RX_CHAINS))
        return this.giveBack(port, chains, NET_COUNTER.rxBufferErrors);
    }
    let flags = 0;
    if (csum.needsCsum) {
      if (port.guestCsum) {
        flags = NetHdrFlag.DATA_VALID;
        port.count(NET_COUNTER.csumDataValid);
      }
    }
    this.writeHeader(flags, chains);
    copySegments(src, 0, dst, NET_HDR_SIZE, frameLen);
    if (csum.needsCsum && flags === 0) {
      this.complete(frameLen, csum);
      port.count(NET_COUNTER.csumCompleted);
    }
    let left = total;
    for (let k = 0; k < chains; k++) {
      const used = Math.min(left, this.caps[k]);
      q.push(this.heads[k], used);
      port.rx.count(used, false);
      left -= used;
    }
    port.rxUnpublished = true;
    port.count(NET_COUNTER.rxFrames);
    port.count(NET_COUNTER.rxBytes, frameLen);
    if (chains > 1) port.count(NET_COUNTER.rxMerged);
    return true;
  }

  /** The frame cannot be written: every buffer taken goes back empty. */
  private giveBack(port: NetPort, chains: number, slot: number): false {
    const q = port.rxq;
    if (q !== null) {
      for (let k = 0; k < chains; k++) {
        q.push(this.heads[k], 0);
        port.rx.count(0, slot === NET_COUNTER.rxBufferErrors);
      }
      if (chains > 0) port.rxUnpublished = true;
    }
    port.count(slot);
    return false;
  }

  private writeHeader(flags: number, numBuffers: number): void {
    const dst = this.dst;
    if (dst.len[0] >= NET_HDR_SIZE) {
      // virtio_net_hdr: flags, no GSO, no checksum offsets, num_buffers (LE).
      const u8 = dst.u8;
      const a = dst.addr[0];
      u8[a] = flags;
      for (let i = 1; i < NetHdrOffset.NUM_BUFFERS; i++) u8[a + i] = 0;
      u8[a + NetHdrOffset.NUM_BUFFERS] = numBuffers & 0xff;
      u8[a + NetHdrOffset.NUM_BUFFERS + 1] = numBuffers >>> 8;
      return;
    }
    writeRxNetHdr(this.hdr, 0, flags, numBuffers);
    this.hdrSegs.setWhole(this.hdr);
    copySegments(this.hdrSegs, 0, dst, 0, NET_HDR_SIZE);
  }

  /**
   * Complete the checksum in the receiver's copy (never the sender's
   * buffer): in place when the frame sits in one range, else summed in a
   * scratch copy and the two bytes written back.
   */
  private complete(frameLen: number, csum: CsumRequest): void {
    const dst = this.dst;
    const at = dst.contiguous(NET_HDR_SIZE, frameLen);
    if (at >= 0) {
      completeChecksum(dst.u8, at, frameLen, csum.csumStart, csum.csumOffset);
      return;
    }
    const s = this.scratchSegs;
    s.setWhole(this.scratch, frameLen);
    copySegments(dst, NET_HDR_SIZE, s, 0, frameLen);
    completeChecksum(this.scratch, 0, frameLen, csum.csumStart, csum.csumOffset);
    const field = csum.csumStart + csum.csumOffset;
    copySegments(s, field, dst, NET_HDR_SIZE + field, 2);
  }
}
