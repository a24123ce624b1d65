// What bench/ring.ts and its two workers share: the run parameters and the
// layout of the small control buffer (start barrier, doorbells, results).
import { DOORBELL_STRIDE } from '../../packages/virtio-ring/src/index.ts';

export type RingMode = 'poll' | 'notify';

export interface RingRun {
  role: 'driver' | 'device';
  mode: RingMode;
  batch: number;
  ringSize: number;
  /** Chains to move through the queue. */
  count: number;
  /** Doorbell polls before sleeping (notify mode). */
  spin: number;
  /** The control words (the guest memory came once, in workerData). */
  ctl: SharedArrayBuffer;
}

export interface RingResult {
  role: 'driver' | 'device';
  /** Driver: first add to last reclaim, in ns. */
  elapsedNs: number;
  chains: number;
  kicks: number;
  interrupts: number;
  sleeps: number;
  /** Polls that found nothing to do (the other side was the bottleneck). */
  idle: number;
  /** Poll mode: times a side gave its core away after a long idle run. */
  yields: number;
}

/** Int32 indices in the control buffer, each on its own 128-byte line. */
export const CTL = {
  READY: 0,
  /** Never written: an idle poller sleeps on it for IDLE_YIELD_MS. */
  IDLE: 8,
  KICK: DOORBELL_STRIDE,
  IRQ: 2 * DOORBELL_STRIDE,
  WORDS: 3 * DOORBELL_STRIDE,
} as const;

/** Poll mode: empty polls in a row before a side yields its core... */
export const IDLE_YIELD_POLLS = 1 << 14;
/** ...for this long (bench/native/ring.c uses the same figures). */
export const IDLE_YIELD_MS = 0.02;

/** Each chain is one device-writable buffer of this many bytes. */
export const BUF_LEN = 64;
/** Where buffers start in guest memory (after the queue, page-aligned). */
export const BUF_BASE = 64 * 1024;
/** How long any wait may last before the run is declared stuck. */
export const STUCK_MS = 10_000;

export function memBytes(ringSize: number): number {
  return BUF_BASE + ringSize * BUF_LEN;
}
