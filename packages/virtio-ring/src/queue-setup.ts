// What both halves need from a queue's three guest-physical addresses:
// validated ranges and the typed-array indices of every shared field.

import { VirtqueueError } from './errors.ts';
import {
  AVAIL_ALIGN,
  AVAIL_FLAGS,
  AVAIL_IDX,
  AVAIL_RING,
  availEventOffset,
  availRingSize,
  DESC_ALIGN,
  descTableSize,
  isValidQueueSize,
  MAX_QUEUE_SIZE,
  type QueueAddresses,
  USED_ALIGN,
  USED_FLAGS,
  USED_IDX,
  USED_RING,
  usedEventOffset,
  usedRingSize,
} from './layout.ts';
import { type GuestMemory, LITTLE_ENDIAN_HOST } from './memory.ts';

/** Indices into GuestMemory.u16 / .u32 of the shared fields of one queue. */
export interface RingIndices {
  size: number;
  mask: number;
  /** u32 index of descriptor 0. */
  desc: number;
  /** u16 indices. */
  availFlags: number;
  availIdx: number;
  availRing: number;
  usedEvent: number;
  usedFlags: number;
  usedIdx: number;
  availEvent: number;
  /** u32 index of used.ring[0].id. */
  usedRing: number;
}

function area(mem: GuestMemory, name: string, addr: number, len: number, align: number): void {
  if (!Number.isSafeInteger(addr) || addr < 0 || addr >= mem.size || len > mem.size - addr)
    throw new VirtqueueError(
      'ring-out-of-range',
      `${name} at ${addr} +${len} outside ${mem.size} bytes`,
    );
  if (addr % align !== 0)
    throw new VirtqueueError('ring-misaligned', `${name} at ${addr} is not ${align}-aligned`);
}

/**
 * Check a queue's size and addresses against guest memory (the device
 * does this with whatever the driver wrote into the registers) and compute
 * the field indices.
 */
export function ringIndices(
  mem: GuestMemory,
  q: QueueAddresses,
  maxSize = MAX_QUEUE_SIZE,
): RingIndices {
  if (!LITTLE_ENDIAN_HOST) throw new Error('@pvkit/virtio-ring needs a little-endian host');
  const n = q.size;
  if (!isValidQueueSize(n) || n > maxSize)
    throw new VirtqueueError('bad-queue-size', `${n} is not a power of 2 in 1..${maxSize}`);
  area(mem, 'descriptor table', q.desc, descTableSize(n), DESC_ALIGN);
  area(mem, 'avail ring', q.avail, availRingSize(n), AVAIL_ALIGN);
  area(mem, 'used ring', q.used, usedRingSize(n), USED_ALIGN);
  return {
    size: n,
    mask: n - 1,
    desc: q.desc / 4,
    availFlags: (q.avail + AVAIL_FLAGS) / 2,
    availIdx: (q.avail + AVAIL_IDX) / 2,
    availRing: (q.avail + AVAIL_RING) / 2,
    usedEvent: (q.avail + usedEventOffset(n)) / 2,
    usedFlags: (q.used + USED_FLAGS) / 2,
    usedIdx: (q.used + USED_IDX) / 2,
    availEvent: (q.used + availEventOffset(n)) / 2,
    usedRing: (q.used + USED_RING) / 4,
  };
}

/** Zero the three areas of a queue, as a driver does before it lays one out. */
export function clearRings(mem: GuestMemory, q: QueueAddresses): void {
  mem.u8.fill(0, q.desc, q.desc + descTableSize(q.size));
  mem.u8.fill(0, q.avail, q.avail + availRingSize(q.size));
  mem.u8.fill(0, q.used, q.used + usedRingSize(q.size));
}
