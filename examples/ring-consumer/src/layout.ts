// Where things live in the shared memory both workers see, and what each
// worker is handed. The queue's own offsets come from @pvkit/virtio-ring;
// this file only places the queue and the buffers.
import type { QueueAddresses } from '@pvkit/virtio-ring';

/** Buffers start after the queue (which takes < 32 KiB up to 1024 entries). */
export const BUFFERS_BASE = 0x10000;
/** Each buffer slot: the request bytes, then an 8-byte reply the device writes. */
export const REPLY_BYTES = 8;

export interface SideData {
  memory: SharedArrayBuffer;
  queue: QueueAddresses;
  /** Two doorbells: kick (driver → device) at 0, interrupt (device → driver) at DOORBELL_STRIDE. */
  bells: Int32Array;
  /** Buffers to move in all. */
  count: number;
  /** Buffers in flight at most (slots). */
  slots: number;
  bufSize: number;
}

export const slotBytes = (bufSize: number) => bufSize + REPLY_BYTES;
export const requestAt = (d: SideData, slot: number) => BUFFERS_BASE + slot * slotBytes(d.bufSize);
export const replyAt = (d: SideData, slot: number) => requestAt(d, slot) + d.bufSize;

/** What the device answers for a request: the sum of its bytes, mod 2^32. */
export function checksum(bytes: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s = (s + bytes[i]) >>> 0;
  return s;
}

/** How long either side waits for the other before it gives up (ms). */
export const PEER_TIMEOUT_MS = 5000;
/** Polls of a doorbell before sleeping on it. */
export const SPIN = 2000;
