// Messages between the toolstack (main thread) and the hypervisor service
// worker. Control only: the service reads them with receiveMessageOnPort
// when the control sequence word moves, so it never yields to an event loop.
import type { MessagePort } from 'node:worker_threads';

/** A device as the service sees it: enough to route pvkit_mmio_op to a register model. */
export interface ServiceDeviceSetup {
  /** DEVICE_TYPE.* */
  type: number;
  /** Index among devices of this type. */
  id: number;
  /** Event channel port of queue 0 (queue i: evtchn + i), bound to the device at creation. */
  evtchn: number;
  nrQueues: number;
  /** The config entry (validated by the device type's hook on the main thread). */
  config: Record<string, unknown>;
  /** The device control block (@pvkit/virtio-ring DeviceControl), described at attach. */
  control: SharedArrayBuffer;
  /** The vCPU's device doorbells and this device's first (queue i: doorbell + i). */
  doorbells: SharedArrayBuffer;
  doorbell: number;
}

export interface DomainSetup {
  domid: number;
  name: string;
  memory: SharedArrayBuffer;
  /** One per vCPU. */
  mailboxes: SharedArrayBuffer[];
  counters: SharedArrayBuffer;
  /** Bytes the VMM reserved at the bottom of guest memory (memory_op memory_map). */
  reservedBytes: number;
  devices: ServiceDeviceSetup[];
}

export type ToService =
  | { t: 'create'; setup: DomainSetup }
  | { t: 'destroy'; domid: number; id: number }
  | { t: 'pause'; domid: number; id: number }
  | { t: 'unpause'; domid: number; id: number }
  | { t: 'virq'; domid: number; virq: number }
  | { t: 'console-in'; domid: number; bytes: Uint8Array }
  | { t: 'trace'; ring: SharedArrayBuffer | null; id: number }
  | { t: 'stop' };

export type FromService =
  | { t: 'console'; domid: number; line: string }
  | { t: 'shutdown'; domid: number; reason: number; code: number; detail?: string }
  | { t: 'crash'; domid: number; detail: string }
  | { t: 'ack'; id: number; ok: boolean };

/** The data a service worker starts with. */
export interface ServiceWorkerData {
  control: MessagePort;
  /** Int32 words: SERVICE_CONTROL. */
  controlWords: SharedArrayBuffer;
  doorbell: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** Host clock (ms) at system time 0, shared by every domain of this VMM. */
  timeBaseMs: number;
  /** How long the service spins after the last trap before it sleeps (µs). */
  spinUs: number;
}

/** Words of the service control buffer (main thread and service only). */
export const SERVICE_CONTROL = { seq: 0 } as const;
export const SERVICE_CONTROL_BYTES = 64;
