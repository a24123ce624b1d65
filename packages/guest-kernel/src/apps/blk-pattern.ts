// The data blkverify writes and checks: a function of a seed and the byte's
// offset on the disk, so any range can be checked on its own, and the host
// (tests) can compute what a disk file must hold.

/** The pattern's 32-bit word for word index `w` (byte offset / 4) under `seed`. */
export function patternWord(seed: number, w: number): number {
  let x = Math.imul((w ^ Math.imul(seed, 0x9e3779b9)) >>> 0, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** Fill `bytes` (a multiple of 4 long) with the pattern of disk bytes [offset, offset + length). */
export function fillPattern(bytes: Uint8Array, seed: number, offset: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w0 = offset / 4;
  for (let i = 0; i + 4 <= bytes.length; i += 4)
    dv.setUint32(i, patternWord(seed, w0 + i / 4), true);
}

/** Byte index of the first difference from the pattern, or -1. */
export function checkPattern(bytes: Uint8Array, seed: number, offset: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w0 = offset / 4;
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    const want = patternWord(seed, w0 + i / 4);
    if (dv.getUint32(i, true) !== want) {
      for (let b = 0; b < 4; b++) if (bytes[i + b] !== ((want >>> (8 * b)) & 0xff)) return i + b;
    }
  }
  return -1;
}
