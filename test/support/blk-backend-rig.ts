// One real virtio-blk queue backend worker (started from its bundle, as the
// VMM starts it), driven by hand: a RawDriver writes whatever descriptors a
// test wants into a guest memory the worker holds, and this rig plays the
// register model's part through the device control block.
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import {
  BACKEND_READY,
  BLK_COUNTER_NAMES,
  type BlkWorkerData,
  blkDeviceConfig,
  blkDeviceFeatures,
  blkWorkerEntry,
  parseDiskList,
  prepareDisks,
} from '../../packages/backends/src/index.ts';
import { isEventPending } from '../../packages/hypercall/src/index.ts';
import {
  DEVICE_STATE,
  DeviceControl,
  DeviceCounters,
  DOORBELL_STRIDE,
  Doorbell,
  type FeatureSet,
  GuestMemory,
  layoutSplitQueue,
  type QueueAddresses,
  RawDriver,
  RING_FEATURES,
} from '../../packages/virtio-ring/src/index.ts';
import { bundleEntry } from '../../packages/vmm/src/index.ts';
import { within } from './blk-harness.ts';

export const RIG_MEMORY = 1 << 20;
export const RIG_PORT = 7;
const QUEUE_GPA = 0x10000;

export interface BlkRig {
  mem: GuestMemory;
  control: DeviceControl;
  counters: DeviceCounters;
  kick: Doorbell;
  queue: QueueAddresses;
  driver: RawDriver;
  worker: Worker;
  features: FeatureSet;
  /** DRIVER_OK with a fresh queue of `size` at QUEUE_GPA (or the given addresses). */
  driverOk(queue?: QueueAddresses): void;
  reset(): void;
  /** Wait until used.idx reaches `idx` (fails after `ms`). */
  usedReaches(idx: number, ms?: number): Promise<void>;
  eventPending(): boolean;
  /** Ask the worker to stop and wait for it to exit. */
  stop(): Promise<void>;
}

export async function startBlkRig(disk: Record<string, unknown>, size = 16): Promise<BlkRig> {
  const [prepared] = prepareDisks(parseDiskList([disk]));
  const config = blkDeviceConfig(prepared, 256);
  const features = RING_FEATURES | blkDeviceFeatures(prepared);
  const memory = new SharedArrayBuffer(RIG_MEMORY);
  const mem = new GuestMemory(memory);
  const control = DeviceControl.create(1);
  control.describe({ deviceId: 2, features, queueMaxSizes: [256], config: new Uint8Array(60) });
  const counters = DeviceCounters.create(1, BLK_COUNTER_NAMES.length);
  const bells = Doorbell.createWords(1);
  const data: BlkWorkerData = {
    memory,
    control: control.buffer,
    counters: counters.buffer,
    doorbells: bells.buffer as SharedArrayBuffer,
    doorbell: 0,
    evtchn: RIG_PORT,
    queue: 0,
    disk: prepared,
    config,
    idleWaitMs: 50,
  };
  const worker = new Worker(bundleEntry(blkWorkerEntry()), { workerData: data, execArgv: [] });
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  await within(
    new Promise<void>((resolve, reject) => {
      worker.on('message', (m) => m === BACKEND_READY && resolve());
      worker.once('error', reject);
    }),
    20_000,
    'blk backend worker start',
  );
  const kick = new Doorbell(bells, 0 * DOORBELL_STRIDE);
  const words = new Int32Array(memory);
  const rig: BlkRig = {
    mem,
    control,
    counters,
    kick,
    queue: layoutSplitQueue(QUEUE_GPA, size, 16),
    driver: new RawDriver(mem, layoutSplitQueue(QUEUE_GPA, size, 16)),
    worker,
    features,
    driverOk(queue = layoutSplitQueue(QUEUE_GPA, size, 16)) {
      rig.queue = queue;
      rig.driver = new RawDriver(mem, queue);
      control.publish(DEVICE_STATE.running, features, [{ index: 0, ready: true, ...queue }]);
      kick.ring();
    },
    reset() {
      control.publish(DEVICE_STATE.reset, 0n, []);
      kick.ring();
    },
    async usedReaches(idx, ms = 10_000) {
      const until = Date.now() + ms;
      while (rig.driver.usedIdx() !== idx) {
        if (Date.now() > until)
          throw new Error(`used.idx is ${rig.driver.usedIdx()}, waited for ${idx} for ${ms} ms`);
        await sleep(1);
      }
    },
    eventPending: () => isEventPending(words, RIG_PORT),
    async stop() {
      control.requestStop();
      kick.ring();
      await within(exited, 10_000, 'blk backend worker exit');
    },
  };
  return rig;
}
