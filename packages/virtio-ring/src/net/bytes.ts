// Little-endian 16-bit access on a Uint8Array or a DataView. Private to the
// net folder: virtio structures are little-endian (network protocols inside
// the frames are big-endian and handled where they are parsed).

import { readU16, writeU16 } from '../le.ts';

export type ByteView = Uint8Array | DataView;

export function readLe16(b: ByteView, at: number): number {
  return b instanceof DataView ? b.getUint16(at, true) : readU16(b, at);
}

export function writeLe16(b: ByteView, at: number, v: number): void {
  if (b instanceof DataView) b.setUint16(at, v, true);
  else writeU16(b, at, v);
}

export function readU8(b: ByteView, at: number): number {
  return b instanceof DataView ? b.getUint8(at) : b[at];
}

export function writeU8(b: ByteView, at: number, v: number): void {
  if (b instanceof DataView) b.setUint8(at, v);
  else b[at] = v & 0xff;
}
