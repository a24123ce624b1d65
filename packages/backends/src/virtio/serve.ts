// The standard backend loop for a queue whose work arrives as kicks
// (virtio-blk requests, virtio-net transmit): the vhost worker's shape.
//
//   look at the control block (one load; rebuild the queue when it moved)
//   with kicks off, pop every available chain, hand it to the device's
//     handler, push, publish, interrupt when the driver asked (EVENT_IDX)
//   kicks back on, and re-check the ring (a chain that slipped in between
//     would otherwise wait for a kick that never comes)
//   poll the doorbell a little (a learned window), then sleep in Atomics.wait
//
// until the toolstack asks to stop; then the handler releases what it holds.
//
// A handler may finish chains later (handle() returns PENDING_LEN: the blk
// I/O pool). Then each pass also pushes what has finished (reap), and while
// anything is out the loop keeps kicks off and, with the ring empty, lets
// the handler work or wait for a finish (idle) instead of sleeping on the
// doorbell: a finish always comes, and the ring is looked at after it. Before
// the control block is acted on (reset) or the queue breaks, everything out
// is taken back first, so no data lands in guest memory after an ack.
import type { DeviceQueue, FeatureSet } from '@pvkit/virtio-ring';
import { VirtqueueBackend } from './queue-backend.ts';
import type { VirtqueueWorkerData } from './worker-data.ts';

export interface QueueHandler {
  /**
   * DRIVER_OK: the queue is live with these negotiated features. Throw a
   * VirtqueueError to refuse it (the device then needs a reset).
   */
  start(queue: DeviceQueue, features: FeatureSet): void;
  /**
   * One well-formed chain, in `queue.chain` (head `head`): do the work and
   * return used.len, or PENDING_LEN when the work goes on elsewhere (reap()
   * pushes it later). Must not throw: a device answers bad requests itself.
   */
  handle(queue: DeviceQueue, head: number): number;
  /** Chains handle() left pending and reap() has not pushed yet. */
  inFlight?(): number;
  /** Push (queue.push) every pending chain that has finished, calling `count` with each len; how many. */
  reap?(queue: DeviceQueue, count: (len: number) => void): number;
  /** The ring is empty and chains are pending: do some of their work, or wait up to `ms` for one. */
  idle?(ms: number): void;
  /** The queue went away (reset, FAILED, a broken ring): forget it. */
  stopQueue?(): void;
  /** Before the worker sleeps: push out anything batched, mirror counters. */
  beforeSleep?(): void;
  /** The worker is stopping for good: release files and sockets. */
  close(): void;
}

/** handle()'s answer for a chain that completes later, through reap(). */
export const PENDING_LEN = -1;

/** Serve one queue until the toolstack asks this device to stop. */
export function serveQueue(data: VirtqueueWorkerData, handler: QueueHandler): void {
  const b = new VirtqueueBackend(data);
  const count = (len: number) => b.count(len, false);
  try {
    for (;;) {
      if (b.stopRequested) return;
      if (b.controlChanged) {
        settle(b, handler, count);
        const change = b.sync();
        if (change?.kind === 'stopped') handler.stopQueue?.();
        if (change?.kind === 'started') start(b, handler, change.queue, change.features);
      }
      const q = b.queue;
      if (q === null) {
        b.sleep();
        continue;
      }
      q.disableNotifications();
      if (!drain(b, q, handler, count)) continue;
      if ((handler.inFlight?.() ?? 0) > 0) {
        handler.idle?.(b.idleWaitMs);
        continue;
      }
      if (q.enableNotifications()) continue;
      handler.beforeSleep?.();
      b.waitForKick();
    }
  } finally {
    b.flushCounters();
    handler.close();
  }
}

function start(b: VirtqueueBackend, h: QueueHandler, q: DeviceQueue, f: FeatureSet): void {
  try {
    h.start(q, f);
  } catch (e) {
    b.breakQueue(e);
    h.stopQueue?.();
  }
}

/** Take back every pending chain (waiting for them), push them and publish. */
function settle(b: VirtqueueBackend, h: QueueHandler, count: (len: number) => void): void {
  const q = b.queue;
  // Without a queue nothing can be pushed: close() takes such chains back.
  while (q !== null && (h.inFlight?.() ?? 0) > 0) {
    if ((h.reap?.(q, count) ?? 0) > 0) continue;
    h.idle?.(b.idleWaitMs);
  }
  if (q !== null && q.unpublished > 0) b.publish(q);
}

/**
 * Pop and complete chains until the ring is empty (true) or the control
 * block moved / the queue broke (false: look at the control block first).
 */
function drain(
  b: VirtqueueBackend,
  q: DeviceQueue,
  h: QueueHandler,
  count: (len: number) => void,
): boolean {
  for (;;) {
    let head: number;
    try {
      head = q.popHead();
    } catch (e) {
      settle(b, h, count);
      b.publish(q); // what was completed before the break still counts
      b.breakQueue(e);
      h.stopQueue?.();
      return false;
    }
    if (head >= 0) {
      const malformed = q.chain.error !== null;
      // A malformed chain still gives its head back: len 0 (spec 2.7.13.4 practice).
      const len = malformed ? 0 : h.handle(q, head);
      if (len !== PENDING_LEN) {
        q.push(head, len);
        b.count(len, malformed);
      }
    }
    h.reap?.(q, count);
    if (q.unpublished > 0) b.publish(q);
    if (head < 0) return true;
    if (b.controlChanged || b.stopRequested) return false;
  }
}
