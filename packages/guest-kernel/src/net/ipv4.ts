// IPv4 headers (RFC 791). We send 20-byte headers with DF set and never
// fragment; we accept options on receive (skipped) and drop fragments.

import { csumFold, csumPartial, internetChecksum } from '@pvkit/virtio-ring';
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';

export const IPV4_HLEN = 20;

export const IpProto = { ICMP: 1, UDP: 17 } as const;

/** Flags/fragment-offset word: DF, MF, and the 13-bit offset. */
const IP_DF = 0x4000;
const IP_MF_OR_OFFSET = 0x3fff;

/** Default TTL of packets we originate (Linux's ip_default_ttl). */
export const DEFAULT_TTL = 64;

/** The fields of a received header the stack uses; one object reused per interface. */
export interface Ipv4Header {
  headerLen: number;
  totalLen: number;
  ttl: number;
  proto: number;
  src: number;
  dst: number;
}

export function emptyIpv4Header(): Ipv4Header {
  return { headerLen: 0, totalLen: 0, ttl: 0, proto: 0, src: 0, dst: 0 };
}

export type Ipv4ParseError = 'malformed' | 'bad-checksum' | 'fragment';

/**
 * Validate and read the header of the `avail` bytes at `off` (the Ethernet
 * payload, which may carry padding after the datagram: totalLen is the
 * datagram). Returns null when `out` is filled in.
 */
export function parseIpv4Header(
  buf: Uint8Array,
  off: number,
  avail: number,
  out: Ipv4Header,
): Ipv4ParseError | null {
  if (avail < IPV4_HLEN) return 'malformed';
  const vihl = buf[off];
  const headerLen = (vihl & 0x0f) * 4;
  if (vihl >>> 4 !== 4 || headerLen < IPV4_HLEN || headerLen > avail) return 'malformed';
  const totalLen = readU16(buf, off + 2);
  if (totalLen < headerLen || totalLen > avail) return 'malformed';
  if (
    headerLen === IPV4_HLEN
      ? !header20Ok(buf, off)
      : internetChecksum(buf, off, off + headerLen) !== 0
  )
    return 'bad-checksum';
  if ((readU16(buf, off + 6) & IP_MF_OR_OFFSET) !== 0) return 'fragment';
  out.headerLen = headerLen;
  out.totalLen = totalLen;
  out.ttl = buf[off + 8];
  out.proto = buf[off + 9];
  out.src = readU32(buf, off + 12);
  out.dst = readU32(buf, off + 16);
  return null;
}

/** Write a 20-byte header with DF set and its checksum. */
export function writeIpv4(
  buf: Uint8Array,
  off: number,
  totalLen: number,
  id: number,
  ttl: number,
  proto: number,
  src: number,
  dst: number,
): void {
  buf[off] = 0x45;
  buf[off + 1] = 0; // DSCP/ECN
  writeU16(buf, off + 2, totalLen);
  writeU16(buf, off + 4, id & 0xffff);
  writeU16(buf, off + 6, IP_DF);
  buf[off + 8] = ttl;
  buf[off + 9] = proto;
  writeU32(buf, off + 12, src);
  writeU32(buf, off + 16, dst);
  // The sum of the header's ten words, from the values just written (no read-back).
  const sum =
    0x4500 +
    (totalLen & 0xffff) +
    (id & 0xffff) +
    IP_DF +
    (((ttl & 0xff) << 8) | (proto & 0xff)) +
    (src >>> 16) +
    (src & 0xffff) +
    (dst >>> 16) +
    (dst & 0xffff);
  writeU16(buf, off + 10, ~fold16(sum) & 0xffff);
}

/** End-around-carry fold of a sum of at most 2^16 16-bit words. */
function fold16(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

/** The checksum of an option-less 20-byte header is right (RFC 1071: its words sum to 0xffff). */
function header20Ok(b: Uint8Array, off: number): boolean {
  let sum = 0;
  for (let i = off; i < off + IPV4_HLEN; i += 2) sum += (b[i] << 8) | b[i + 1];
  return fold16(sum) === 0xffff;
}

/**
 * Folded sum of the UDP/TCP pseudo-header {src, dst, zero, proto, length}
 * added to `sum`: the part of an L4 checksum that lies outside the packet.
 */
export function pseudoHeaderSum(
  src: number,
  dst: number,
  proto: number,
  length: number,
  sum = 0,
): number {
  return csumFold(
    sum + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length,
  );
}

/** Partial sum of an L4 segment including its pseudo-header. */
export function l4Sum(
  buf: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
  proto: number,
): number {
  return csumPartial(buf, off, off + len, pseudoHeaderSum(src, dst, proto, len));
}
