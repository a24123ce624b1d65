// The errors of a split virtqueue. Each side names every way the *other*
// side can be wrong, so a device can count and report a bad driver (and a
// driver a bad device) instead of crashing or silently truncating.

/** Every way a driver can be wrong, as the device half sees it. */
export type VirtqueueErrorKind =
  // --- queue setup (what the driver wrote into QueueNum/QueueDesc/...) ---
  /** Queue size not a power of two in 1..32768, or above the device's maximum. */
  | 'bad-queue-size'
  /** Descriptor table not 16-aligned, avail ring not 2-aligned, used ring not 4-aligned. */
  | 'ring-misaligned'
  /** A ring area not entirely inside guest memory. */
  | 'ring-out-of-range'
  // --- the avail ring ---
  /** `avail.idx` moved more than N past the last entry seen: the queue is broken (needs reset). */
  | 'avail-index-jump'
  /** An avail ring entry names a descriptor index >= N. */
  | 'head-out-of-range'
  /** An avail ring entry names a head the device still holds (offered twice): the queue is broken. */
  | 'head-in-flight'
  // --- one chain ---
  /** A `next` field >= N (or >= the indirect table's length). */
  | 'next-out-of-range'
  /** More than N descriptors in one chain (a loop, or simply too long). */
  | 'chain-too-long'
  /** More than 2^32 bytes in one chain. */
  | 'chain-too-large'
  /** A buffer's u64 address is at or past the end of guest memory. */
  | 'address-out-of-range'
  /** A buffer starts inside guest memory but addr + len passes its end (u64 sums included). */
  | 'range-out-of-bounds'
  /** A readable descriptor after a writable one. */
  | 'readable-after-writable'
  /** INDIRECT used although VIRTIO_F_INDIRECT_DESC was not negotiated. */
  | 'indirect-not-negotiated'
  /** INDIRECT together with NEXT on the same descriptor. */
  | 'indirect-with-next'
  /** An INDIRECT descriptor inside an indirect table. */
  | 'nested-indirect'
  /** Indirect table length not a multiple of 16. */
  | 'indirect-length-not-multiple-of-16'
  /** Indirect table of length 0. */
  | 'empty-indirect-table'
  /** Indirect table with more than min(N, 65535) entries. */
  | 'indirect-table-too-large'
  /** The indirect table itself lies (partly) outside guest memory. */
  | 'indirect-table-out-of-range';

export class VirtqueueError extends Error {
  declare readonly kind: VirtqueueErrorKind;
  /** The chain's head when the error belongs to one chain, else -1. */
  declare readonly head: number;
  constructor(kind: VirtqueueErrorKind, detail: string, head = -1) {
    super(`virtqueue: ${kind}${head >= 0 ? ` (head ${head})` : ''}: ${detail}`);
    this.name = 'VirtqueueError';
    this.kind = kind;
    this.head = head;
  }
}

/** Every way a device can be wrong, as the driver half sees it. */
export type DeviceQueueFaultKind =
  /** `used.idx` moved more than N past the last entry reclaimed. */
  | 'used-index-jump'
  /** A used entry's id >= N. */
  | 'used-id-out-of-range'
  /** A used entry's id is not the head of a chain the driver has outstanding. */
  | 'used-id-not-outstanding'
  /** A used entry's len exceeds the writable bytes of its chain. */
  | 'used-len-too-large';

export class DeviceFaultError extends Error {
  declare readonly kind: DeviceQueueFaultKind;
  constructor(kind: DeviceQueueFaultKind, detail: string) {
    super(`virtqueue driver: ${kind}: ${detail}`);
    this.name = 'DeviceFaultError';
    this.kind = kind;
  }
}

/** What is wrong with used entry (id, len) of a queue of `size`, whose head is or is not `outstanding`. */
export function usedEntryFault(
  id: number,
  len: number,
  size: number,
  outstanding: boolean,
  writable: number,
): DeviceFaultError {
  if (id >= size) return new DeviceFaultError('used-id-out-of-range', `used id ${id} >= ${size}`);
  if (!outstanding)
    return new DeviceFaultError('used-id-not-outstanding', `used id ${id} is not outstanding`);
  const detail = `used len ${len} > ${writable} writable bytes (id ${id})`;
  return new DeviceFaultError('used-len-too-large', detail);
}

/** Misuse of a queue half by its own caller (a bug in the code using this library). */
export class VirtqueueUsageError extends Error {
  constructor(detail: string) {
    super(`virtqueue usage: ${detail}`);
    this.name = 'VirtqueueUsageError';
  }
}
