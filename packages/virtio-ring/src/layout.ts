// The split virtqueue's wire layout (VIRTIO 1.2 §2.7, Linux
// include/uapi/linux/virtio_ring.h). Every offset, size and flag of the
// split ring is written here once; the two halves import them.

/** Largest split queue size the spec allows. */
export const MAX_QUEUE_SIZE = 32768;

/** Descriptor table: 16 bytes per entry, 16-aligned. */
export const DESC_SIZE = 16;
export const DESC_ALIGN = 16;
export const DESC_ADDR = 0; // u64
export const DESC_LEN = 8; // u32
export const DESC_FLAGS = 12; // u16
export const DESC_NEXT = 14; // u16

/** Descriptor flags. */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;

/** Available ring (driver area): 2-aligned, 6 + 2N bytes. */
export const AVAIL_ALIGN = 2;
export const AVAIL_FLAGS = 0; // u16
export const AVAIL_IDX = 2; // u16
export const AVAIL_RING = 4; // u16[N], then used_event u16
export const VRING_AVAIL_F_NO_INTERRUPT = 1;

/** Used ring (device area): 4-aligned, 6 + 8N bytes. */
export const USED_ALIGN = 4;
export const USED_FLAGS = 0; // u16
export const USED_IDX = 2; // u16
export const USED_RING = 4; // {id u32, len u32}[N], then avail_event u16
export const USED_ELEM_SIZE = 8;
export const VRING_USED_F_NO_NOTIFY = 1;

/** Most entries an indirect table may hold (the spec's hard limit). */
export const MAX_INDIRECT_ENTRIES = 65535;

/** Largest number of bytes one chain may describe. */
export const MAX_CHAIN_BYTES = 2 ** 32;

export function isValidQueueSize(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_QUEUE_SIZE && (n & (n - 1)) === 0;
}

export function descTableSize(n: number): number {
  return DESC_SIZE * n;
}
export function availRingSize(n: number): number {
  return AVAIL_RING + 2 * n + 2;
}
export function usedRingSize(n: number): number {
  return USED_RING + USED_ELEM_SIZE * n + 2;
}
/** Offset of `used_event` inside the avail ring. */
export function usedEventOffset(n: number): number {
  return AVAIL_RING + 2 * n;
}
/** Offset of `avail_event` inside the used ring. */
export function availEventOffset(n: number): number {
  return USED_RING + USED_ELEM_SIZE * n;
}

/** The three guest-physical addresses of one split queue, as QueueDesc/Driver/Device carry them. */
export interface QueueAddresses {
  size: number;
  desc: number;
  avail: number;
  used: number;
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/**
 * Lay the three parts of a queue out one after another from `base`, each
 * at its required alignment or at `partAlign` (e.g. 128, so that what the
 * driver writes and what the device writes never share a cache line).
 */
export function layoutSplitQueue(
  base: number,
  size: number,
  partAlign = DESC_ALIGN,
): QueueAddresses & { end: number } {
  if (!isValidQueueSize(size))
    throw new RangeError(`queue size ${size} is not a power of 2 in 1..${MAX_QUEUE_SIZE}`);
  const desc = alignUp(base, Math.max(DESC_ALIGN, partAlign));
  const avail = alignUp(desc + descTableSize(size), Math.max(AVAIL_ALIGN, partAlign));
  const used = alignUp(avail + availRingSize(size), Math.max(USED_ALIGN, partAlign));
  return { size, desc, avail, used, end: used + usedRingSize(size) };
}

/**
 * VIRTIO's event-index test (Linux `vring_need_event`): notify iff the
 * other side's event index lies in [old, new), all modulo 2^16.
 */
export function needEvent(event: number, newIdx: number, old: number): boolean {
  return ((newIdx - event - 1) & 0xffff) < ((newIdx - old) & 0xffff);
}
