// The Internet checksum (RFC 1071), as a partial-sum API.
//
// A "partial sum" here is a plain number: the ones'-complement sum of
// big-endian 16-bit words, folded to 16 bits (0..0xffff). Partial sums
// compose by addition (`csumAdd`), so a UDP/TCP pseudo-header, a header and a
// payload can be summed separately and combined; `csumFinish` complements the
// result into the value stored in a packet. A range that is not the last one
// in a sum must have even length (an odd byte would shift every later word).
//
// Speed matters here (every non-offloaded packet is summed once on each side),
// so the bulk of a long, even-aligned range is summed as native 32-bit words
// through a cached Uint32Array view. On a little-endian host those words are
// byte-swapped relative to network order; RFC 1071 §2(B) says the sum of
// swapped words is the swap of the sum, so we swap the folded result back.

/** Fold any non-negative integer sum (< 2^53) to 16 bits with end-around carry. */
export function csumFold(sum: number): number {
  // x mod 0xffff is the end-around-carry fold, except that a non-zero sum never
  // folds to 0 with carries (it yields 0xffff): ((x - 1) mod 0xffff) + 1.
  return sum === 0 ? 0 : ((sum - 1) % 0xffff) + 1;
}

/** Add two partial sums (or a partial sum and a 16-bit word). */
export function csumAdd(a: number, b: number): number {
  return csumFold(a + b);
}

/** Add a 32-bit value (e.g. an IPv4 address as a u32) as two 16-bit words. */
export function csumAdd32(sum: number, value: number): number {
  return csumFold(sum + (value >>> 16) + (value & 0xffff));
}

/** The value a packet's checksum field holds: ones' complement of the folded sum. */
export function csumFinish(sum: number): number {
  return ~csumFold(sum) & 0xffff;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// Below this length the setup of the wide path costs more than it saves.
const WIDE_MIN = 128;

// Two cached word views: the common pattern alternates between a guest's
// memory and one scratch buffer, and a view per call would cost an allocation.
let cacheA: ArrayBufferLike | null = null;
let viewA: Uint32Array | null = null;
let cacheB: ArrayBufferLike | null = null;
let viewB: Uint32Array | null = null;

function wordsOf(buffer: ArrayBufferLike, needWords: number): Uint32Array {
  if (buffer === cacheA && viewA!.length >= needWords) return viewA!;
  if (buffer === cacheB && viewB!.length >= needWords) {
    // Keep the most recent buffer in slot A.
    [cacheA, cacheB, viewA, viewB] = [cacheB, cacheA, viewB, viewA];
    return viewA!;
  }
  cacheB = cacheA;
  viewB = viewA;
  cacheA = buffer;
  viewA = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  return viewA;
}

function sumBytes(b: Uint8Array, i: number, end: number, sum: number): number {
  const end8 = i + ((end - i) & ~7);
  for (; i < end8; i += 8) {
    sum +=
      ((b[i] << 8) | b[i + 1]) +
      ((b[i + 2] << 8) | b[i + 3]) +
      ((b[i + 4] << 8) | b[i + 5]) +
      ((b[i + 6] << 8) | b[i + 7]);
  }
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  // An odd trailing byte is the high half of a zero-padded word.
  if (i < end) sum += b[i] << 8;
  return sum;
}

/**
 * Partial sum of `buf[start, end)` added to `sum`. Throws RangeError on a
 * range outside `buf` (a programming error: callers validate lengths from the
 * wire before they sum).
 */
export function csumPartial(buf: Uint8Array, start: number, end: number, sum = 0): number {
  if (!(start >= 0 && start <= end && end <= buf.length)) {
    throw new RangeError(`checksum range [${start}, ${end}) outside buffer of ${buf.length}`);
  }
  let i = start;
  const abs = buf.byteOffset + start;
  if (!HOST_LITTLE_ENDIAN || end - start < WIDE_MIN || (abs & 1) !== 0) {
    return csumFold(sumBytes(buf, i, end, sum));
  }
  if ((abs & 2) !== 0) {
    sum += (buf[i] << 8) | buf[i + 1];
    i += 2;
  }
  const firstWord = (buf.byteOffset + i) >>> 2;
  const words = (end - i) >>> 2;
  const u32 = wordsOf(buf.buffer, firstWord + words);
  // Fold every 2^20 words so the double accumulator stays exact (< 2^53).
  let f = 0;
  for (let k = firstWord, last = firstWord + words; k < last; ) {
    const stop = Math.min(last, k + 0x100000);
    let le = 0;
    for (; k < stop; k++) le += u32[k];
    f = csumFold(f + le);
  }
  sum += ((f & 0xff) << 8) | (f >>> 8);
  return csumFold(sumBytes(buf, i + words * 4, end, sum));
}

/** The Internet checksum of `buf[start, end)`: the value to store in a header. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return csumFinish(csumPartial(buf, start, end));
}
