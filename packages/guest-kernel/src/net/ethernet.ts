// Ethernet II headers. Frame layout facts (ETH_HLEN, MAC helpers) live in
// @pvkit/virtio-ring, which the device side shares; EtherTypes are the
// stack's business.

import { ETH_ALEN, EthOffset } from '@pvkit/virtio-ring';
import { readU16, writeU16 } from './bytes.ts';

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
} as const;

/** Write source MAC and EtherType; the destination is written once it is known. */
export function writeEthSrcType(buf: Uint8Array, off: number, src: Uint8Array, type: number): void {
  // A byte loop: a subarray view per frame costs more than six stores.
  for (let i = 0; i < ETH_ALEN; i++) buf[off + EthOffset.SRC + i] = src[i];
  writeU16(buf, off + EthOffset.TYPE, type);
}

export function writeEthDst(buf: Uint8Array, off: number, dst: Uint8Array, dstOff = 0): void {
  for (let i = 0; i < ETH_ALEN; i++) buf[off + i] = dst[dstOff + i];
}

export function readEtherType(buf: Uint8Array, off: number): number {
  return readU16(buf, off + EthOffset.TYPE);
}
