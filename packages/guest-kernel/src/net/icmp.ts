// ICMP echo (RFC 792): type u8 · code u8 · checksum u16 · id u16 · seq u16 · data.
// The checksum covers the whole ICMP message and has no pseudo-header.

import { internetChecksum } from '@pvkit/virtio-ring';
import { readU16, writeU16 } from './bytes.ts';

export const ICMP_ECHO_HLEN = 8;

export const IcmpType = { ECHO_REPLY: 0, ECHO_REQUEST: 8 } as const;

/** Ping's default payload, as Linux ping sends it: 56 data bytes. */
export const PING_DEFAULT_PAYLOAD = 56;

/** Byte `i` of the payload our ping sends; replies are checked against it. */
export function pingPatternByte(i: number): number {
  return i & 0xff;
}

/** Write an echo header at `off` and checksum the `len`-byte message (header + data). */
export function finishEcho(
  buf: Uint8Array,
  off: number,
  len: number,
  type: number,
  id: number,
  seq: number,
): void {
  buf[off] = type;
  buf[off + 1] = 0;
  writeU16(buf, off + 2, 0);
  writeU16(buf, off + 4, id);
  writeU16(buf, off + 6, seq);
  writeU16(buf, off + 2, internetChecksum(buf, off, off + len));
}

export function icmpType(buf: Uint8Array, off: number): number {
  return buf[off];
}

export function icmpCode(buf: Uint8Array, off: number): number {
  return buf[off + 1];
}

export function echoId(buf: Uint8Array, off: number): number {
  return readU16(buf, off + 4);
}

export function echoSeq(buf: Uint8Array, off: number): number {
  return readU16(buf, off + 6);
}
