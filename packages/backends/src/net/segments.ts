// A frame, or room for one, as a list of byte ranges of one array: the
// readable descriptors of a guest's tx chain (after the virtio header), the
// writable descriptors of a receiver's rx buffers, or one socket buffer.
// Reused for every frame (no allocation per frame): callers refill `count`
// and the two arrays.

/** Copies at or below this length go byte by byte (cheaper than a subarray view). */
const SMALL_COPY = 64;

export class Segments {
  /** The memory the ranges index: a guest's memory, or a socket buffer. */
  declare u8: Uint8Array;
  count = 0;
  /** Sum of len[0..count). */
  total = 0;
  declare readonly addr: Float64Array;
  declare readonly len: Uint32Array;

  constructor(capacity: number, u8: Uint8Array = new Uint8Array(0)) {
    this.u8 = u8;
    this.addr = new Float64Array(capacity);
    this.len = new Uint32Array(capacity);
  }

  get capacity(): number {
    return this.addr.length;
  }

  clear(u8: Uint8Array): void {
    this.u8 = u8;
    this.count = 0;
    this.total = 0;
  }

  /** Append a range; false when the list is full. */
  push(addr: number, len: number): boolean {
    const n = this.count;
    if (n >= this.addr.length) return false;
    this.addr[n] = addr;
    this.len[n] = len;
    this.count = n + 1;
    this.total += len;
    return true;
  }

  /** The whole of `u8` as the one range. */
  setWhole(u8: Uint8Array, len = u8.length): void {
    this.clear(u8);
    this.push(0, len);
  }

  /** The address of logical byte `pos` when [pos, pos + n) lies in one range, else -1. */
  contiguous(pos: number, n: number): number {
    for (let i = 0; i < this.count; i++) {
      const l = this.len[i];
      if (pos < l) return pos + n <= l ? this.addr[i] + pos : -1;
      pos -= l;
    }
    return -1;
  }
}

/**
 * Copy `n` bytes from logical position `sp` of `src` to logical position
 * `dp` of `dst` (both ranges must exist: callers check totals first).
 */
export function copySegments(
  src: Segments,
  sp: number,
  dst: Segments,
  dp: number,
  n: number,
): void {
  let si = 0;
  while (si < src.count && sp >= src.len[si]) sp -= src.len[si++];
  let di = 0;
  while (di < dst.count && dp >= dst.len[di]) dp -= dst.len[di++];
  const s8 = src.u8;
  const d8 = dst.u8;
  while (n > 0) {
    const k = Math.min(n, src.len[si] - sp, dst.len[di] - dp);
    const from = src.addr[si] + sp;
    const to = dst.addr[di] + dp;
    if (k <= SMALL_COPY) for (let j = 0; j < k; j++) d8[to + j] = s8[from + j];
    else d8.set(s8.subarray(from, from + k), to);
    n -= k;
    sp += k;
    dp += k;
    if (sp === src.len[si]) {
      si++;
      sp = 0;
    }
    if (dp === dst.len[di]) {
      di++;
      dp = 0;
    }
  }
}
