// QEMU's `-netdev dgram` framing: each Ethernet frame (no FCS, no virtio
// header) is exactly one UDP datagram, in both directions.
//
// QEMU's dgram backend itself neither pads nor checks lengths: it sends what
// the guest NIC hands it and passes up whatever arrives. The padding comes
// from the NIC model: an e1000 with TCTL.PSP (set by Linux) pads short frames
// to 60 bytes, which is why a Linux guest's ARP requests arrive as 60-byte
// datagrams. We pad on send by default so our frames look the same on the
// wire (and reach NIC models that expect real-NIC minimums); padding is
// harmless to every receiver because ARP has a fixed size and IPv4 carries
// its own length. On receive we take frames as they come, padded or not,
// and only refuse what cannot be an Ethernet frame on this link.

import { ETH_DATA_LEN, ETH_HLEN, ETH_ZLEN } from '@pvkit/virtio-ring';

export type FrameLengthError = 'runt' | 'oversize';

/** Frames below an Ethernet header are runts; above MTU + header, oversize. */
export function checkFrameLength(len: number, mtu: number): FrameLengthError | null {
  if (len < ETH_HLEN) return 'runt';
  if (len > mtu + ETH_HLEN) return 'oversize';
  return null;
}

export class DgramFramingStats {
  rxFrames = 0;
  rxBytes = 0;
  rxRunts = 0;
  rxOversize = 0;
  txFrames = 0;
  txBytes = 0;
  /** Frames shorter than 60 bytes that were padded. */
  txPadded = 0;
  txRunts = 0;
  txOversize = 0;
}

export interface DgramFramingOptions {
  /** Link MTU (default 1500). */
  mtu?: number;
  /** Pad frames shorter than 60 bytes on send (default true). */
  padToMinimum?: boolean;
}

export class DgramFraming {
  declare readonly mtu: number;
  declare readonly padToMinimum: boolean;
  readonly stats = new DgramFramingStats();

  constructor(opts: DgramFramingOptions = {}) {
    this.mtu = opts.mtu ?? ETH_DATA_LEN;
    this.padToMinimum = opts.padToMinimum ?? true;
  }

  /** A datagram from the wire: the frame to deliver (the same bytes), or null (counted). */
  decode(datagram: Uint8Array): Uint8Array | null {
    const problem = checkFrameLength(datagram.length, this.mtu);
    if (problem === 'runt') this.stats.rxRunts++;
    else if (problem === 'oversize') this.stats.rxOversize++;
    if (problem !== null) return null;
    this.stats.rxFrames++;
    this.stats.rxBytes += datagram.length;
    return datagram;
  }

  /** Length of the datagram that carries a `len`-byte frame. */
  wireLength(len: number): number {
    return this.padToMinimum && len < ETH_ZLEN ? ETH_ZLEN : len;
  }

  /**
   * A frame for the wire: the datagram payload to send (a padded copy when
   * short, else `frame` itself), or null if the frame is not sendable
   * (counted). The caller owns `frame`: copy it out of guest memory first.
   */
  encode(frame: Uint8Array): Uint8Array | null {
    const problem = checkFrameLength(frame.length, this.mtu);
    if (problem === 'runt') this.stats.txRunts++;
    else if (problem === 'oversize') this.stats.txOversize++;
    if (problem !== null) return null;
    let out = frame;
    const wire = this.wireLength(frame.length);
    if (wire !== frame.length) {
      out = new Uint8Array(wire);
      out.set(frame);
      this.stats.txPadded++;
    }
    this.stats.txFrames++;
    this.stats.txBytes += out.length;
    return out;
  }
}
