// struct virtio_net_hdr with VERSION_1 (VIRTIO 1.2 §5.1.6): 12 bytes,
// little-endian, in front of every frame on every rx and tx queue.
//
//   flags u8 @0 · gso_type u8 @1 · hdr_len u16 @2 · gso_size u16 @4
//   csum_start u16 @6 · csum_offset u16 @8 · num_buffers u16 @10
//
// pvkit never negotiates HASH_REPORT, so the header is always 12 bytes.

import { type ByteView, readLe16, readU8, writeLe16, writeU8 } from './bytes.ts';
import { hasNetFeature, type VirtioNetFeatureName } from './features.ts';

export const NET_HDR_SIZE = 12;

export const NetHdrOffset = {
  FLAGS: 0,
  GSO_TYPE: 1,
  HDR_LEN: 2,
  GSO_SIZE: 4,
  CSUM_START: 6,
  CSUM_OFFSET: 8,
  NUM_BUFFERS: 10,
} as const;

/** `flags` bits. NEEDS_CSUM is set by a driver (tx) or device (rx); the others only by a device. */
export const NetHdrFlag = {
  NEEDS_CSUM: 1,
  DATA_VALID: 2,
  RSC_INFO: 4,
} as const;

/** `gso_type` values; ECN is a bit OR-ed into a TCP type. */
export const NetGso = {
  NONE: 0,
  TCPV4: 1,
  UDP: 3,
  TCPV6: 4,
  UDP_L4: 5,
  ECN: 0x80,
} as const;

export interface NetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
  numBuffers: number;
}

export function emptyNetHdr(): NetHdr {
  return {
    flags: 0,
    gsoType: 0,
    hdrLen: 0,
    gsoSize: 0,
    csumStart: 0,
    csumOffset: 0,
    numBuffers: 0,
  };
}

function checkRoom(view: ByteView, offset: number): void {
  if (!(offset >= 0 && offset + NET_HDR_SIZE <= view.byteLength)) {
    throw new RangeError(`virtio_net_hdr at ${offset} does not fit in ${view.byteLength} bytes`);
  }
}

/**
 * Read the header at `offset`. Pass `out` to reuse an object on a hot path.
 * Throws RangeError when the buffer is too short (callers check descriptor
 * lengths first; a short chain is a guest error they report themselves).
 */
export function readNetHdr(view: ByteView, offset = 0, out: NetHdr = emptyNetHdr()): NetHdr {
  checkRoom(view, offset);
  out.flags = readU8(view, offset + NetHdrOffset.FLAGS);
  out.gsoType = readU8(view, offset + NetHdrOffset.GSO_TYPE);
  out.hdrLen = readLe16(view, offset + NetHdrOffset.HDR_LEN);
  out.gsoSize = readLe16(view, offset + NetHdrOffset.GSO_SIZE);
  out.csumStart = readLe16(view, offset + NetHdrOffset.CSUM_START);
  out.csumOffset = readLe16(view, offset + NetHdrOffset.CSUM_OFFSET);
  out.numBuffers = readLe16(view, offset + NetHdrOffset.NUM_BUFFERS);
  return out;
}

/** Write `hdr` at `offset`; fields are truncated to their widths by masking. */
export function writeNetHdr(view: ByteView, offset: number, hdr: NetHdr): void {
  checkRoom(view, offset);
  writeU8(view, offset + NetHdrOffset.FLAGS, hdr.flags);
  writeU8(view, offset + NetHdrOffset.GSO_TYPE, hdr.gsoType);
  writeLe16(view, offset + NetHdrOffset.HDR_LEN, hdr.hdrLen & 0xffff);
  writeLe16(view, offset + NetHdrOffset.GSO_SIZE, hdr.gsoSize & 0xffff);
  writeLe16(view, offset + NetHdrOffset.CSUM_START, hdr.csumStart & 0xffff);
  writeLe16(view, offset + NetHdrOffset.CSUM_OFFSET, hdr.csumOffset & 0xffff);
  writeLe16(view, offset + NetHdrOffset.NUM_BUFFERS, hdr.numBuffers & 0xffff);
}

/**
 * Write the header a device puts in front of a received frame: no GSO,
 * `flags` (0 or DATA_VALID, or NEEDS_CSUM with its two offsets), and
 * `numBuffers` (1 unless MRG_RXBUF spread the frame over several buffers).
 */
export function writeRxNetHdr(
  view: ByteView,
  offset: number,
  flags: number,
  numBuffers: number,
  csumStart = 0,
  csumOffset = 0,
): void {
  checkRoom(view, offset);
  writeU8(view, offset + NetHdrOffset.FLAGS, flags);
  writeU8(view, offset + NetHdrOffset.GSO_TYPE, NetGso.NONE);
  writeLe16(view, offset + NetHdrOffset.HDR_LEN, 0);
  writeLe16(view, offset + NetHdrOffset.GSO_SIZE, 0);
  writeLe16(view, offset + NetHdrOffset.CSUM_START, csumStart);
  writeLe16(view, offset + NetHdrOffset.CSUM_OFFSET, csumOffset);
  writeLe16(view, offset + NetHdrOffset.NUM_BUFFERS, numBuffers);
}

/** Every way a driver's tx header can be wrong. */
export type NetTxHdrError =
  | 'needs-csum-not-negotiated'
  | 'csum-start-beyond-frame'
  | 'csum-offset-beyond-frame'
  | 'device-only-flag'
  | 'unknown-gso-type'
  | 'gso-not-negotiated'
  | 'ecn-not-negotiated'
  | 'gso-without-needs-csum'
  | 'gso-size-zero';

const GSO_FEATURE: Readonly<Record<number, VirtioNetFeatureName>> = {
  [NetGso.TCPV4]: 'HOST_TSO4',
  [NetGso.TCPV6]: 'HOST_TSO6',
  [NetGso.UDP]: 'HOST_UFO',
  [NetGso.UDP_L4]: 'HOST_USO',
};

/**
 * Validate a tx header against what the driver *acked* (never what was
 * offered) and the frame length that follows it. `num_buffers` is not
 * checked: the spec asks the driver for 0 but gives the device no use for it.
 */
export function validateTxNetHdr(
  hdr: NetHdr,
  acked: bigint,
  frameLen: number,
): NetTxHdrError | null {
  if ((hdr.flags & (NetHdrFlag.DATA_VALID | NetHdrFlag.RSC_INFO)) !== 0) return 'device-only-flag';
  if ((hdr.flags & NetHdrFlag.NEEDS_CSUM) !== 0) {
    if (!hasNetFeature(acked, 'CSUM')) return 'needs-csum-not-negotiated';
    const problem = checkCsumOffsets(hdr.csumStart, hdr.csumOffset, frameLen);
    if (problem) return problem;
  }
  const gso = hdr.gsoType & ~NetGso.ECN;
  if (gso === NetGso.NONE) {
    return hdr.gsoType & NetGso.ECN ? 'ecn-not-negotiated' : null;
  }
  const feature = GSO_FEATURE[gso];
  if (feature === undefined) return 'unknown-gso-type';
  if (!hasNetFeature(acked, feature)) return 'gso-not-negotiated';
  if (hdr.gsoType & NetGso.ECN && !hasNetFeature(acked, 'HOST_ECN')) return 'ecn-not-negotiated';
  if ((hdr.flags & NetHdrFlag.NEEDS_CSUM) === 0) return 'gso-without-needs-csum';
  if (hdr.gsoSize === 0) return 'gso-size-zero';
  return null;
}

/** The 2-byte checksum field must lie wholly inside the frame. */
export function checkCsumOffsets(
  csumStart: number,
  csumOffset: number,
  frameLen: number,
): 'csum-start-beyond-frame' | 'csum-offset-beyond-frame' | null {
  if (csumStart >= frameLen) return 'csum-start-beyond-frame';
  if (csumStart + csumOffset + 2 > frameLen) return 'csum-offset-beyond-frame';
  return null;
}
