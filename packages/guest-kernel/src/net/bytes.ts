// Big-endian (network order) field access. Inline-friendly helpers: V8
// inlines them, and they keep header code readable.

export function readU16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

export function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** Copies up to this long go byte by byte: cheaper than a subarray view and set(). */
const SMALL_COPY = 96;

/** Copy `len` bytes from `src[srcAt..]` to `dst[dstAt..]` without a view per call for small ones. */
export function copyBytes(
  dst: Uint8Array,
  dstAt: number,
  src: Uint8Array,
  srcAt: number,
  len: number,
): void {
  if (len <= SMALL_COPY) for (let i = 0; i < len; i++) dst[dstAt + i] = src[srcAt + i];
  else dst.set(src.subarray(srcAt, srcAt + len), dstAt);
}
