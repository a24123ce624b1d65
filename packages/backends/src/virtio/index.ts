// The backend side of pvkit's virtio plumbing: a queue held by a worker
// (VirtqueueBackend), the standard kick-driven loop (serveQueue), and what
// the toolstack passes each worker (VirtqueueWorkerData).
export type { QueueChange } from './queue-backend.ts';
export { VirtqueueBackend } from './queue-backend.ts';
export { PENDING_LEN, type QueueHandler, serveQueue } from './serve.ts';
export {
  BACKEND_READY,
  DEFAULT_BACKEND_SPIN_US,
  DEFAULT_IDLE_WAIT_MS,
  type VirtqueueWorkerData,
} from './worker-data.ts';
