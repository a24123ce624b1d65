// Little-endian field access on any Uint8Array (plain or SharedArrayBuffer
// backed) without allocating a DataView per call: request headers are decoded
// once per request on the data path.

export function readU16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export function readU32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/**
 * u64 as a number. Exact below 2^53; above, the result is rounded but still
 * >= 2^53, so comparisons against any real capacity stay correct.
 */
export function readU64(b: Uint8Array, o: number): number {
  return readU32(b, o + 4) * 0x1_0000_0000 + readU32(b, o);
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function writeU64(b: Uint8Array, o: number, v: number): void {
  writeU32(b, o, v >>> 0);
  writeU32(b, o + 4, Math.floor(v / 0x1_0000_0000));
}

/** Throws a RangeError naming the field unless v is an integer in [0, max]. */
export function checkUint(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${name} = ${v} is not an integer in 0..${max}`);
  }
}

export const U8_MAX = 0xff;
export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;
/** u64 fields are numbers: only exact integers (< 2^53) can be encoded. */
export const U64_MAX_EXACT = Number.MAX_SAFE_INTEGER;

export function checkRoom(what: string, b: Uint8Array, o: number, size: number): void {
  if (!Number.isInteger(o) || o < 0 || o + size > b.length) {
    throw new RangeError(`${what} needs ${size} bytes at offset ${o} of a ${b.length}-byte buffer`);
  }
}
