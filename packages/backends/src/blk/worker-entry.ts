// Where the blk queue worker's entry module is, for the toolstack to start
// it (bundled), and what it expects as workerData.
import { fileURLToPath } from 'node:url';
import type { BlkConfig } from '@pvkit/virtio-ring';
import type { VirtqueueWorkerData } from '../virtio/worker-data.ts';
import type { PreparedDisk } from './prepare.ts';

export interface BlkWorkerData extends VirtqueueWorkerData {
  disk: PreparedDisk;
  config: BlkConfig;
}

/** The path of ./worker.ts (computed on call: a bundle that never starts workers never asks). */
export function blkWorkerEntry(): string {
  return fileURLToPath(new URL('./worker.ts', import.meta.url));
}
