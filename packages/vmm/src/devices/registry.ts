// Device backends, on the toolstack side: a registry keyed by the config
// key that lists a domain's devices ("disks", "nics"). A device type
// registers how to validate one config entry, how many queues a device has,
// and how to attach its backend when the domain is created. Config parsing
// knows nothing of any device: it hands each entry of those arrays to the
// registered type, so the blk and net engineers plug in here and nowhere else.

/** Config keys whose entries are devices. */
export const DEVICE_CONFIG_KEYS = ['disks', 'nics'] as const;
export type DeviceConfigKey = (typeof DEVICE_CONFIG_KEYS)[number];

/** What a backend gets when its domain is created (setup time only). */
export interface DeviceAttachContext {
  domid: number;
  domainName: string;
  /** The guest's memory: the only memory a backend may hold. */
  memory: SharedArrayBuffer;
  /** The vCPU's device doorbell buffer (Int32 words); this device's queue i is `doorbell + i`. */
  doorbells: SharedArrayBuffer;
  doorbell: number;
  /** Event channel port of queue 0 in the guest; queue i is `evtchn + i` (raise with raiseEvent). */
  evtchn: number;
  /** The validated config entry. */
  entry: Record<string, unknown>;
  /** Index among devices of this key (vda = 0, ...). */
  index: number;
}

export interface DeviceAttachment {
  /** Stop the backend and release what it holds; called at domain teardown. */
  detach(): Promise<void>;
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
