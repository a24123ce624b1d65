// How the driver writes descriptors, and where its indirect tables live.
// One descriptor (in the driver's table or in an indirect table) is four
// little-endian u32 words: addr lo, addr hi, len, flags | next << 16.
//
// A word that already holds the right value is not rewritten: the table is
// the driver's (the device only reads it), so the read hits the driver's
// own cache, and fewer stores queue behind the ones waiting for lines the
// device holds. When all four words match (a buffer reposted on the head it
// had last time: the driver's free list reuses heads in order), the cache
// line is not written at all and the device's copy stays valid.

import type { BufferRef } from './chain.ts';
import { DESC_SIZE, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './layout.ts';
import type { GuestMemory } from './memory.ts';

const TWO_32 = 4294967296;

/** `at` is the u32 index of the descriptor; `addr` a checked safe integer. */
export function writeDescriptor(
  u32: Uint32Array,
  at: number,
  addr: number,
  len: number,
  flagsAndNext: number,
): void {
  const lo = addr >>> 0; // the low 32 bits of any safe integer
  if (u32[at] !== lo) u32[at] = lo;
  const hi = addr < TWO_32 ? 0 : Math.floor(addr / TWO_32);
  if (u32[at + 1] !== hi) u32[at + 1] = hi;
  if (u32[at + 2] !== len) u32[at + 2] = len;
  if (u32[at + 3] !== flagsAndNext) u32[at + 3] = flagsAndNext;
}

/** One buffer of a chain (checked against guest memory) at u32 index `at`; `next` -1 ends the chain. */
export function writeBufferDesc(
  mem: GuestMemory,
  at: number,
  b: BufferRef,
  writable: boolean,
  next: number,
): void {
  mem.check(b.addr, b.len);
  const flags = (writable ? VIRTQ_DESC_F_WRITE : 0) | (next >= 0 ? VIRTQ_DESC_F_NEXT : 0);
  writeDescriptor(mem.u32, at, b.addr, b.len, flags | (Math.max(next, 0) << 16));
}

/**
 * Write a chain, readable buffers then writable ones, into the table whose
 * descriptor 0 is at u32 index `base`: an indirect table's descriptors 0,
 * 1, 2... (`links` null), or the driver's own from `first` on, following
 * its private links (`links[i << 2]`). Returns the last descriptor written.
 */
export function writeChain(
  mem: GuestMemory,
  base: number,
  readable: readonly BufferRef[],
  writable: readonly BufferRef[],
  links: Uint32Array | null,
  first: number,
): number {
  const total = readable.length + writable.length;
  let i = first;
  for (let k = 0; k < total; k++) {
    const w = k >= readable.length;
    const b = w ? writable[k - readable.length] : readable[k];
    const next = k + 1 === total ? -1 : links === null ? i + 1 : links[i << 2];
    writeBufferDesc(mem, base + i * 4, b, w, next);
    if (next >= 0) i = next;
  }
  return i;
}

/** A chain's writable bytes, capped at 2^32 - 1 like a used len. */
export function writableBytes(writable: readonly BufferRef[]): number {
  let n = 0;
  for (const b of writable) n += b.len;
  return Math.min(n, 0xffffffff);
}

/**
 * Check the driver's area for indirect tables (one table of `maxEntries`
 * descriptors per head, table h at `addr + h * maxEntries * 16`); none
 * gives maxEntries 0.
 */
export function indirectTables(
  mem: GuestMemory,
  queueSize: number,
  area: { addr: number; maxEntries: number } | undefined,
): { addr: number; maxEntries: number } {
  if (!area) return { addr: 0, maxEntries: 0 };
  const { addr, maxEntries } = area;
  if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > queueSize)
    throw new RangeError(`indirect maxEntries ${maxEntries} must be in 1..${queueSize}`);
  if (addr % DESC_SIZE !== 0) throw new RangeError(`indirect tables at ${addr}: not 16-aligned`);
  mem.check(addr, queueSize * maxEntries * DESC_SIZE);
  return { addr, maxEntries };
}
