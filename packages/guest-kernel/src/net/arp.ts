// ARP for IPv4 over Ethernet (RFC 826): the 28-byte packet after the
// Ethernet header.
//
//   htype u16 = 1 · ptype u16 = 0x0800 · hlen u8 = 6 · plen u8 = 4 · op u16
//   sha[6] @8 · spa u32 @14 · tha[6] @18 · tpa u32 @24

import { ETH_ALEN } from '@pvkit/virtio-ring';
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import { EtherType } from './ethernet.ts';

export const ARP_LEN = 28;

export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

export const ArpOffset = { OP: 6, SHA: 8, SPA: 14, THA: 18, TPA: 24 } as const;

/** Whether `len` bytes at `off` hold an Ethernet/IPv4 ARP request or reply. */
export function isValidArp(buf: Uint8Array, off: number, len: number): boolean {
  if (len < ARP_LEN) return false;
  const op = readU16(buf, off + ArpOffset.OP);
  return (
    readU16(buf, off) === 1 &&
    readU16(buf, off + 2) === EtherType.IPV4 &&
    buf[off + 4] === ETH_ALEN &&
    buf[off + 5] === 4 &&
    (op === ArpOp.REQUEST || op === ArpOp.REPLY)
  );
}

/** Write an ARP packet at `off`; a null target MAC is written as zeros (a request). */
export function writeArp(
  buf: Uint8Array,
  off: number,
  op: number,
  sha: Uint8Array,
  spa: number,
  tha: Uint8Array | null,
  tpa: number,
): void {
  writeU16(buf, off, 1);
  writeU16(buf, off + 2, EtherType.IPV4);
  buf[off + 4] = ETH_ALEN;
  buf[off + 5] = 4;
  writeU16(buf, off + ArpOffset.OP, op);
  buf.set(sha.subarray(0, ETH_ALEN), off + ArpOffset.SHA);
  writeU32(buf, off + ArpOffset.SPA, spa);
  if (tha) buf.set(tha.subarray(0, ETH_ALEN), off + ArpOffset.THA);
  else buf.fill(0, off + ArpOffset.THA, off + ArpOffset.THA + ETH_ALEN);
  writeU32(buf, off + ArpOffset.TPA, tpa);
}

export function arpOp(buf: Uint8Array, off: number): number {
  return readU16(buf, off + ArpOffset.OP);
}

export function arpSpa(buf: Uint8Array, off: number): number {
  return readU32(buf, off + ArpOffset.SPA);
}

export function arpTpa(buf: Uint8Array, off: number): number {
  return readU32(buf, off + ArpOffset.TPA);
}
