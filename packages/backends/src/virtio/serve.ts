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
   * return used.len. Must not throw: a device answers bad requests itself.
   */
  handle(queue: DeviceQueue, head: number): number;
  /** The queue went away (reset, FAILED, a broken ring): forget it. */
  stopQueue?(): void;
  /** Before the worker sleeps: push out anything batched, mirror counters. */
  beforeSleep?(): void;
  /** The worker is stopping for good: release files and sockets. */
  close(): void;
}

/** Serve one queue until the toolstack asks this device to stop. */
export function serveQueue(data: VirtqueueWorkerData, handler: QueueHandler): void {
  const b = new VirtqueueBackend(data);
  try {
    for (;;) {
      if (b.stopRequested) return;
      if (b.controlChanged) {
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
      if (!drain(b, q, handler)) continue;
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

/**
 * Pop and complete chains until the ring is empty (true) or the control
 * block moved / the queue broke (false: look at the control block first).
 */
function drain(b: VirtqueueBackend, q: DeviceQueue, h: QueueHandler): boolean {
  for (;;) {
    let head: number;
    try {
      head = q.popHead();
    } catch (e) {
      b.publish(q); // what was completed before the break still counts
      b.breakQueue(e);
      h.stopQueue?.();
      return false;
    }
    if (head < 0) return true;
    const malformed = q.chain.error !== null;
    // A malformed chain still gives its head back: len 0 (spec 2.7.13.4 practice).
    const len = malformed ? 0 : h.handle(q, head);
    q.push(head, len);
    b.count(len, malformed);
    b.publish(q);
    if (b.controlChanged || b.stopRequested) return false;
  }
}
