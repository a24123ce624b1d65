// Device backends, on the toolstack side: a registry keyed by the config
// key that lists a domain's devices ("disks", "nics"). A device type
// registers how to validate one config entry, how many queues a device has,
// and how to attach its backend when the domain is created. Config parsing
// knows nothing of any device: it hands each entry of those arrays to the
// registered type, so the blk and net engineers plug in here and nowhere else.

import type { TransferListItem, Worker } from 'node:worker_threads';
import type { DeviceControl, DeviceCounters, WasmMemory } from '@pvkit/virtio-ring';

/** Config keys whose entries are devices. */
export const DEVICE_CONFIG_KEYS = ['disks', 'nics'] as const;
export type DeviceConfigKey = (typeof DEVICE_CONFIG_KEYS)[number];

/** What prepare() gets: where relative paths in the config start. */
export interface DevicePrepareContext {
  domainName: string;
  /** The config file's directory (the working directory when there is no file). */
  baseDir: string;
}

/** What a backend gets when its domain is created (setup time only). */
export interface DeviceAttachContext {
  domid: number;
  domainName: string;
  /** The guest's memory: the only memory a backend may hold. */
  memory: SharedArrayBuffer;
  /** The same memory as a WebAssembly.Memory, if it is one: pass it on to ring code. */
  wasmMemory: WasmMemory | null;
  /**
   * The vCPU's device doorbell buffer: doorbell k is a @pvkit/virtio-ring
   * `Doorbell(words, k * DOORBELL_STRIDE)`; this device's queue i is doorbell `doorbell + i`.
   */
  doorbells: SharedArrayBuffer;
  doorbell: number;
  /** Event channel port of queue 0 in the guest; queue i is `evtchn + i` (raise with raiseEvent). */
  evtchn: number;
  /**
   * This device's control block (docs/wiring.md "Devices"): describe() the
   * device into it before attach returns; the register model is built from
   * it, and backends read the driver's queue setup from it.
   */
  control: DeviceControl;
  /** The validated config entry. */
  entry: Record<string, unknown>;
  /** What prepare() returned for this entry (undefined without a prepare hook). */
  prepared: unknown;
  /** Index among devices of this key (vda = 0, ...). */
  index: number;
  /**
   * Start a backend worker from `entryFile` (a .ts or .js module): bundled
   * like vCPUs (fast start, no tsx), counted in Vmm.workerCount().
   */
  startWorker(entryFile: string, workerData: unknown, transferList?: TransferListItem[]): Worker;
  /** A line on the domain's console log, from the VMM (problems with the backend). */
  log(line: string): void;
  /**
   * The backend died on its own (not at detach): call after marking the
   * queues down and raising the event. The toolstack may restart it.
   */
  backendDied?(): void;
}

export interface DeviceAttachment {
  /** Stop the backend and release what it holds (workers, files); called at domain teardown. */
  detach(): Promise<void>;
  /** Per-queue counters the backend keeps (read with no message). */
  counters?: DeviceCounters;
  /** "vda", "eth0": how stats name the device. */
  name?: string;
  /** The backend's worker threads (to watch them; detach() ends them). */
  workers?: readonly Worker[];
}

export interface DeviceBackendType {
  key: DeviceConfigKey;
  /** DEVICE_TYPE.* written in the start_info device table. */
  deviceType: number;
  /** What is wrong with one entry (which field, what would be right), or null. */
  validate(entry: Record<string, unknown>): string | null;
  nrQueues(entry: Record<string, unknown>): number;
  /** Whether kicks of this device go by hypercall (DEVICE_FLAG.notify_by_hypercall). */
  notifyByHypercall?(entry: Record<string, unknown>): boolean;
  /**
   * Names of the device-specific counter slots of each queue (DeviceCounters), in
   * slot order: `Domain.stats()` reports them by name, summed over queues.
   */
  counterNames?: readonly string[];
  /**
   * Check host resources for every entry of this key at once (files exist,
   * sizes, permissions), before any worker of the domain starts; throw one
   * clear Error otherwise. Returns one item per entry, handed to attach.
   */
  prepare?(entries: readonly Record<string, unknown>[], ctx: DevicePrepareContext): unknown[];
  /** Undo prepare() for one item when the domain could not be created after all. */
  release?(prepared: unknown): void;
  attach(ctx: DeviceAttachContext): Promise<DeviceAttachment>;
}

const types = new Map<DeviceConfigKey, DeviceBackendType>();

export function registerDeviceBackend(t: DeviceBackendType): void {
  if (types.has(t.key)) throw new Error(`a backend for "${t.key}" is registered already`);
  types.set(t.key, t);
}

/** For tests: remove a registration. */
export function unregisterDeviceBackend(key: DeviceConfigKey): void {
  types.delete(key);
}

export function deviceBackendFor(key: DeviceConfigKey): DeviceBackendType | undefined {
  return types.get(key);
}
