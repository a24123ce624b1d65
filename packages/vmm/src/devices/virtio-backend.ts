// Toolstack side of a virtio device's backend: describe the device into its
// control block, start its queue workers (bundled, like vCPUs), and stop
// them at detach. What a device type adds is its own workerData and entry.
import type { Worker } from 'node:worker_threads';
import { BACKEND_READY, type VirtqueueWorkerData } from '@pvkit/backends';
import { raiseEvent } from '@pvkit/hypercall';
import {
  DeviceCounters,
  type DeviceDescription,
  DOORBELL_STRIDE,
  Doorbell,
} from '@pvkit/virtio-ring';
import type { DeviceAttachContext, DeviceAttachment } from './registry.ts';

/** How long a backend may take to stop before it is terminated. */
const STOP_GRACE_MS = 2000;

export interface VirtioBackendSpec {
  /** "vda": how stats and logs name the device. */
  name: string;
  /** What the register model offers (written into the control block). */
  description: DeviceDescription;
  /** The worker entry module (.ts or .js); started once per element of `workers`. */
  entry: string;
  /** One worker per element: its queue index and the device's own data for it. */
  workers: { queue: number; data: Record<string, unknown> }[];
  /** Device-specific counter slots per queue (DeviceCounters). */
  counterSlots?: number;
  /** µs a backend polls before it sleeps (VirtqueueWorkerData.spinUs). */
  spinUs?: number;
}

interface Started {
  worker: Worker;
  exited: Promise<void>;
}

/**
 * Describe the device, start its workers, and wait until each has loaded
 * (a worker that fails to start fails the attach, after the others stop).
 */
export async function attachVirtioBackend(
  ctx: DeviceAttachContext,
  spec: VirtioBackendSpec,
): Promise<DeviceAttachment> {
  const nrQueues = spec.description.queueMaxSizes.length;
  ctx.control.describe(spec.description);
  const counters = DeviceCounters.create(nrQueues, spec.counterSlots ?? 0);
  const bells = new Int32Array(ctx.doorbells);
  const started: Started[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    ctx.control.requestStop();
    for (let q = 0; q < nrQueues; q++)
      new Doorbell(bells, (ctx.doorbell + q) * DOORBELL_STRIDE).ring();
    await Promise.all(started.map((s) => stopWorker(s)));
  };
  try {
    const ready: Promise<void>[] = [];
    for (const w of spec.workers) {
      const data: VirtqueueWorkerData & Record<string, unknown> = {
        ...w.data,
        memory: ctx.memory,
        ...(ctx.wasmMemory ? { wasmMemory: ctx.wasmMemory } : {}),
        control: ctx.control.buffer,
        counters: counters.buffer,
        doorbells: ctx.doorbells,
        doorbell: ctx.doorbell + w.queue,
        evtchn: ctx.evtchn + w.queue,
        queue: w.queue,
        ...(spec.spinUs !== undefined ? { spinUs: spec.spinUs } : {}),
      };
      const worker = ctx.startWorker(spec.entry, data);
      const exited = new Promise<void>((r) => worker.once('exit', () => r()));
      started.push({ worker, exited });
      ready.push(
        new Promise((resolve, reject) => {
          worker.on('message', (m) => {
            if (m === BACKEND_READY) resolve();
          });
          worker.once('error', reject);
          worker.once('exit', (code) =>
            reject(
              new Error(
                `${spec.name} queue ${w.queue} backend exited (code ${code}) before it was ready`,
              ),
            ),
          );
        }),
      );
      worker.on('message', (m: { t?: string; line?: unknown }) => {
        if (m?.t === 'log') ctx.log(`${spec.name} queue ${w.queue}: ${String(m.line)}`);
      });
      worker.on('error', (e) => {
        if (!stopping) ctx.log(`${spec.name} queue ${w.queue} backend failed: ${e.message}`);
      });
      worker.once('exit', (code) => {
        if (stopping) return;
        ctx.log(`${spec.name} queue ${w.queue} backend exited (code ${code})`);
        // Nobody serves the queue now: tell the driver, so its requests fail instead of hanging.
        announceBackendDeath(ctx, [w.queue]);
      });
    }
    await Promise.all(ready);
  } catch (e) {
    await stop();
    throw e;
  }
  return { name: spec.name, counters, detach: stop, workers: started.map((s) => s.worker) };
}

/** A dead backend's event is raised again every 200 ms for 2 s, then every second (below). */
const DEATH_RERAISE_MS = 200;
const DEATH_FAST_RERAISES = 10;
const DEATH_SLOW_RERAISE_MS = 1000;

/**
 * The backend of `queues` died: mark them down (Status shows
 * DEVICE_NEEDS_RESET), raise their events, and tell the toolstack. The
 * events are raised again until the driver has reset the device or the
 * device is stopped: a death event that lands while a completion's event is
 * still pending is one interrupt with something to reclaim, and the driver
 * reads Status only when an interrupt brings nothing. After the first 2 s
 * once a second, so that a guest that missed them all (a busy or stalled
 * vCPU) still hears it, at no cost worth counting.
 */
export function announceBackendDeath(ctx: DeviceAttachContext, queues: readonly number[]): void {
  const guest = new Int32Array(ctx.memory);
  const raise = () => {
    for (const q of queues) raiseEvent(guest, ctx.evtchn + q);
  };
  for (const q of queues) ctx.control.setBackendDown(q);
  raise();
  let raised = 0;
  const again = () => {
    if (!ctx.control.needsReset || ctx.control.stopRequested) return;
    raise();
    raised++;
    setTimeout(
      again,
      raised < DEATH_FAST_RERAISES ? DEATH_RERAISE_MS : DEATH_SLOW_RERAISE_MS,
    ).unref();
  };
  setTimeout(again, DEATH_RERAISE_MS).unref();
  ctx.backendDied?.();
}

async function stopWorker(s: Started): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), STOP_GRACE_MS);
  });
  const how = await Promise.race([s.exited.then(() => 'done' as const), late]);
  clearTimeout(timer);
  if (how === 'late') {
    await s.worker.terminate();
    await s.exited;
  }
}
