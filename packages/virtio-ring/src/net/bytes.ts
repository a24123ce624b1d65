// Little-endian 16-bit access on a Uint8Array or a DataView. Private to the
// net folder: virtio structures are little-endian (network protocols inside
// the frames are big-endian and handled where they are parsed).

export type ByteView = Uint8Array | DataView;

export function readLe16(b: ByteView, at: number): number {
  return b instanceof DataView ? b.getUint16(at, true) : b[at] | (b[at + 1] << 8);
}

export function writeLe16(b: ByteView, at: number, v: number): void {
  if (b instanceof DataView) {
    b.setUint16(at, v, true);
  } else {
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
  }
}

export function readU8(b: ByteView, at: number): number {
  return b instanceof DataView ? b.getUint8(at) : b[at];
}

export function writeU8(b: ByteView, at: number, v: number): void {
  if (b instanceof DataView) b.setUint8(at, v);
  else b[at] = v & 0xff;
}
