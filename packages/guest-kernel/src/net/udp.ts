// UDP headers (RFC 768): src port · dst port · length · checksum, 8 bytes.

import { csumFinish } from '@pvkit/virtio-ring';
import { readU16, writeU16 } from './bytes.ts';
import { IpProto, l4Sum, pseudoHeaderSum } from './ipv4.ts';

export const UDP_HLEN = 8;
/** Offset of the checksum inside the UDP header (virtio csum_offset). */
export const UDP_CSUM_OFFSET = 6;

export function writeUdpHeader(
  buf: Uint8Array,
  off: number,
  srcPort: number,
  dstPort: number,
  len: number,
): void {
  writeU16(buf, off, srcPort);
  writeU16(buf, off + 2, dstPort);
  writeU16(buf, off + 4, len);
  writeU16(buf, off + UDP_CSUM_OFFSET, 0);
}

/** Fill in the full checksum of the `len`-byte datagram at `off`. */
export function fillUdpChecksum(
  buf: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
): void {
  const sum = csumFinish(l4Sum(buf, off, len, src, dst, IpProto.UDP));
  // 0 on the wire means "no checksum"; a computed 0 is sent as 0xffff.
  writeU16(buf, off + UDP_CSUM_OFFSET, sum === 0 ? 0xffff : sum);
}

/** Leave the checksum to the device: store only the folded pseudo-header sum. */
export function fillUdpPseudoChecksum(
  buf: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
): void {
  writeU16(buf, off + UDP_CSUM_OFFSET, pseudoHeaderSum(src, dst, IpProto.UDP, len));
}

/** Verify a received datagram; a zero checksum field means the sender sent none. */
export function udpChecksumOk(
  buf: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
): boolean {
  if (readU16(buf, off + UDP_CSUM_OFFSET) === 0) return true;
  return csumFinish(l4Sum(buf, off, len, src, dst, IpProto.UDP)) === 0;
}

export function udpSrcPort(buf: Uint8Array, off: number): number {
  return readU16(buf, off);
}

export function udpDstPort(buf: Uint8Array, off: number): number {
  return readU16(buf, off + 2);
}

export function udpLength(buf: Uint8Array, off: number): number {
  return readU16(buf, off + 4);
}
