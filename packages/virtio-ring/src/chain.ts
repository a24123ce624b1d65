// Buffers as each half sees them. The driver hands the device BufferRefs;
// the device hands out a descriptor chain copied out of the descriptor
// table once and validated. The device never re-reads a
// descriptor it validated, so a driver rewriting the table afterwards
// changes nothing.

import type { VirtqueueError } from './errors.ts';

/** A buffer to hand to the device (a Segment fits). */
export interface BufferRef {
  addr: number;
  len: number;
}

/** One guest buffer of a chain. `addr` is a guest-physical address already checked against memory. */
export interface Segment {
  addr: number;
  len: number;
  /** Device-writable (VIRTQ_DESC_F_WRITE); readable segments always come first. */
  writable: boolean;
}

/** A validated chain: readable segments, then writable ones. */
export interface DescriptorChain {
  /** The head descriptor index: what goes back in the used ring. */
  head: number;
  segments: Segment[];
  /** Sum of the readable segments' lengths. */
  readableLen: number;
  /** Sum of the writable segments' lengths: the most a device may report as written. */
  writableLen: number;
}

/**
 * A chain the driver got wrong. It still occupies its head: complete it
 * with `push(head, 0)` so the driver gets the head back.
 */
export interface MalformedChain {
  head: number;
  error: VirtqueueError;
}

/** What `DeviceQueue.pop` returns for one available entry. */
export type PoppedChain = DescriptorChain | MalformedChain;

export function isMalformed(c: PoppedChain): c is MalformedChain {
  return 'error' in c;
}
