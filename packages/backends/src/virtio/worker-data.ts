// What the toolstack hands each virtqueue backend worker (workerData): the
// served domain's memory and nothing of any other domain, the device's
// control block and counters, and this queue's doorbell and event port.
// All plain data, SharedArrayBuffers and a shared WebAssembly.Memory:
// postMessage-able as is.
import type { WasmMemory } from '@pvkit/virtio-ring';

export interface VirtqueueWorkerData {
  /** The guest's memory (the only guest memory this worker may hold). */
  memory: SharedArrayBuffer;
  /** The same memory as a shared WebAssembly.Memory, when it is one: rings then use its atomics. */
  wasmMemory?: WasmMemory;
  /** The device control block (@pvkit/virtio-ring DeviceControl). */
  control: SharedArrayBuffer;
  /** The device's counters (@pvkit/virtio-ring DeviceCounters). */
  counters: SharedArrayBuffer;
  /** The vCPU's device doorbells, and this queue's doorbell number in them. */
  doorbells: SharedArrayBuffer;
  doorbell: number;
  /** Event channel port that interrupts the guest for this queue. */
  evtchn: number;
  /** This queue's index in the device. */
  queue: number;
  /** Longest poll of the doorbell before sleeping, µs (adaptive up to this; 0: always sleep at once). */
  spinUs?: number;
  /** Longest sleep before looking at the control block anyway, ms (default 1000). */
  idleWaitMs?: number;
}

/**
 * The longest a backend polls its doorbell before it sleeps (the window
 * adapts below it: HaltPoll). A sleeping thread costs the kicker an
 * Atomics.notify and itself tens of µs to wake here (baselines); a driver
 * that resubmits as requests complete kicks within a few µs.
 */
export const DEFAULT_BACKEND_SPIN_US = 200;
export const DEFAULT_IDLE_WAIT_MS = 1000;

/** The message a backend worker posts once it is set up (files open): the attach then succeeds. */
export const BACKEND_READY = 'pvkit-backend-ready';
