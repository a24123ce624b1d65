// Worker entry of one virtio-blk queue backend. It holds the served
// domain's memory, this queue's doorbell and event port, and its own file
// descriptor of the disk image (opened here: a host error at open fails the
// domain's creation, reported before the ready message). With "iothreads"
// it starts its I/O helpers from this same module (io-pool.ts), which then
// runs the helper loop instead (workerData.role).
import { parentPort, workerData } from 'node:worker_threads';
import { DeviceControl, DeviceCounters } from '@pvkit/virtio-ring';
import { serveQueue } from '../virtio/serve.ts';
import { BACKEND_READY } from '../virtio/worker-data.ts';
import { guestIo, type IoHelperData, runIoHelper } from './io-helper.ts';
import { BlkIoPool } from './io-pool.ts';
import { openDiskImage } from './prepare.ts';
import { BlkQueueHandler } from './queue-handler.ts';
import { RawFileImage } from './raw-image.ts';
import type { BlkWorkerData } from './worker-entry.ts';

function serve(data: BlkWorkerData): void {
  const counters = new DeviceCounters(data.counters);
  const image = openDiskImage(data.disk);
  const threads = data.disk.iothreads ?? 0;
  const pool =
    threads > 0 && image instanceof RawFileImage
      ? new BlkIoPool(
          {
            memory: data.memory,
            fd: image.fd,
            threads,
            slots: new DeviceControl(data.control).description().queueMaxSizes[data.queue],
            entry: new URL(import.meta.url),
          },
          guestIo(image.fd, new Uint8Array(data.memory)),
        )
      : undefined;
  const handler = new BlkQueueHandler({
    image,
    config: data.config,
    serial: data.disk.serial,
    shared: counters.f64,
    sharedBase: counters.deviceBase(data.queue),
    log: (line) => parentPort?.postMessage({ t: 'log', line }),
    ...(pool ? { pool } : {}),
  });
  parentPort?.postMessage(BACKEND_READY);
  serveQueue(data, handler);
}

const data = workerData as BlkWorkerData | IoHelperData;
if ('role' in data && data.role === 'blk-io-helper') runIoHelper(data);
else serve(data as BlkWorkerData);
