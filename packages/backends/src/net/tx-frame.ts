// One frame from a guest's transmit queue, as a backend takes it: the
// 12-byte virtio_net_hdr copied out of guest memory once and validated
// against the features the driver acked, then the frame itself as ranges of
// the guest's memory (no copy yet: the switch copies straight into the
// receiver's buffers, a wire backend into its socket buffer).

import {
  type ChainReader,
  checkCsumOffsets,
  ETH_HLEN,
  emptyNetHdr,
  NET_HDR_SIZE,
  NetHdrFlag,
  type NetTxHdrError,
  readNetHdr,
  validateTxNetHdr,
} from '@pvkit/virtio-ring';
import { Segments } from './segments.ts';

export type TxFrameError =
  /** The chain holds fewer bytes than a virtio_net_hdr. */
  | 'short-header'
  /** A transmit buffer the device could write: not a frame. */
  | 'writable-segment'
  /** More ranges than this backend takes (it takes as many as a queue has entries). */
  | 'too-many-segments'
  | NetTxHdrError;

export class TxFrame {
  readonly hdr = emptyNetHdr();
  /** The frame, without the header. */
  declare readonly frame: Segments;
  frameLen = 0;
  needsCsum = false;
  error: TxFrameError | null = null;
  /** The two MACs (destination, source) when they are split across ranges. */
  private readonly macs = new Uint8Array(12);
  private readonly hdrBytes = new Uint8Array(NET_HDR_SIZE);
  macBuf: Uint8Array = this.macs;
  macOff = 0;

  constructor(maxSegments: number) {
    this.frame = new Segments(maxSegments);
  }

  /**
   * Take the frame of a well-formed chain of `u8`'s memory, for a driver
   * that acked `acked` (`csumAcked`: it has CSUM). False when it cannot be
   * sent (see `error`); a frame of any length passes here (the switch or
   * the framing counts runts and oversize frames).
   */
  read(u8: Uint8Array, chain: ChainReader, acked: bigint, csumAcked: boolean): boolean {
    const f = this.frame;
    f.clear(u8);
    if (chain.writableLen > 0 || chain.readableCount !== chain.count)
      return this.fail('writable-segment');
    if (chain.readableLen < NET_HDR_SIZE) return this.fail('short-header');
    const addr = chain.addr;
    const len = chain.len;
    let hb = u8;
    let ha = addr[0];
    if (len[0] < NET_HDR_SIZE) {
      gather(u8, addr, len, chain.count, this.hdrBytes, NET_HDR_SIZE);
      hb = this.hdrBytes;
      ha = 0;
    }
    // The frame: what follows the header, range by range.
    let skip = NET_HDR_SIZE;
    for (let i = 0; i < chain.count; i++) {
      const l = len[i];
      if (skip >= l) {
        skip -= l;
        continue;
      }
      if (!f.push(addr[i] + skip, l - skip)) return this.fail('too-many-segments');
      skip = 0;
    }
    const frameLen = chain.readableLen - NET_HDR_SIZE;
    this.frameLen = frameLen;
    // Each header byte is read once, here (the guest may change it later).
    const h = this.hdr;
    const flags = hb[ha];
    h.flags = flags;
    h.gsoType = hb[ha + 1];
    h.csumStart = hb[ha + 6] | (hb[ha + 7] << 8);
    h.csumOffset = hb[ha + 8] | (hb[ha + 9] << 8);
    const needsCsum = flags === NetHdrFlag.NEEDS_CSUM;
    // The common headers (no GSO; flags 0 or NEEDS_CSUM from a CSUM driver)
    // are checked here; anything else goes through the full rules.
    if (h.gsoType !== 0 || (flags !== 0 && !(needsCsum && csumAcked))) {
      readNetHdr(hb, ha, h);
      const problem = validateTxNetHdr(h, acked, frameLen);
      if (problem !== null) return this.fail(problem);
    } else if (needsCsum) {
      const problem = checkCsumOffsets(h.csumStart, h.csumOffset, frameLen);
      if (problem !== null) return this.fail(problem);
    }
    this.needsCsum = (flags & NetHdrFlag.NEEDS_CSUM) !== 0;
    this.error = null;
    this.locateMacs();
    return true;
  }

  /** Point macBuf/macOff at the 12 MAC bytes (gathered if the frame starts split). */
  private locateMacs(): void {
    const f = this.frame;
    if (this.frameLen < ETH_HLEN) {
      this.macBuf = this.macs;
      this.macOff = 0;
      return;
    }
    const at = f.contiguous(0, 12);
    if (at >= 0) {
      this.macBuf = f.u8;
      this.macOff = at;
      return;
    }
    gather(f.u8, f.addr, f.len, f.count, this.macs, 12);
    this.macBuf = this.macs;
    this.macOff = 0;
  }

  private fail(e: TxFrameError): false {
    this.error = e;
    return false;
  }
}

/** Copy the first `n` bytes spread over ranges of `u8` into `out` (the caller checked the total). */
function gather(
  u8: Uint8Array,
  addr: Float64Array,
  len: Uint32Array,
  count: number,
  out: Uint8Array,
  n: number,
): void {
  let pos = 0;
  for (let i = 0; i < count && pos < n; i++) {
    const k = Math.min(len[i], n - pos);
    const from = addr[i];
    for (let j = 0; j < k; j++) out[pos + j] = u8[from + j];
    pos += k;
  }
}
