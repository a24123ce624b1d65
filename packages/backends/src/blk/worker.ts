// Worker entry of one virtio-blk queue backend. It holds the served
// domain's memory, this queue's doorbell and event port, and its own file
// descriptor of the disk image (opened here: a host error at open fails the
// domain's creation, reported before the ready message).
import { parentPort, workerData } from 'node:worker_threads';
import { DeviceCounters } from '@pvkit/virtio-ring';
import { serveQueue } from '../virtio/serve.ts';
import { BACKEND_READY } from '../virtio/worker-data.ts';
import { openDiskImage } from './prepare.ts';
import { BlkQueueHandler } from './queue-handler.ts';
import type { BlkWorkerData } from './worker-entry.ts';

const data = workerData as BlkWorkerData;
const counters = new DeviceCounters(data.counters);
const handler = new BlkQueueHandler({
  image: openDiskImage(data.disk),
  config: data.config,
  serial: data.disk.serial,
  shared: counters.f64,
  sharedBase: counters.deviceBase(data.queue),
  log: (line) => parentPort?.postMessage({ t: 'log', line }),
});
parentPort?.postMessage(BACKEND_READY);
serveQueue(data, handler);
