// Where a domain's devices go before anything starts: each device's start_info
// table entry, event ports and doorbells (in config order), and the host
// resources its type prepares (files, sizes) so that a bad entry is one clear
// error before any worker of the domain runs.
import { DEVICE_FLAG, NR_EVENT_CHANNELS } from '@pvkit/hypercall';
import type { DeviceEntry } from '../boot/guest-memory.ts';
import { ConfigError, type DomainConfig } from '../config/schema.ts';
import { DEVICE_CONFIG_KEYS, type DeviceBackendType, deviceBackendFor } from './registry.ts';

/** Device queues may take the low half of the event channel ports; the guest keeps the rest. */
const MAX_DEVICE_PORTS = NR_EVENT_CHANNELS / 2;

export interface DevicePlan {
  key: (typeof DEVICE_CONFIG_KEYS)[number];
  backend: DeviceBackendType;
  entry: Record<string, unknown>;
  index: number;
  device: DeviceEntry;
}

/** Each device's place: its table entry, event ports and doorbells, in config order. */
export function planDevices(config: DomainConfig): DevicePlan[] {
  const plans: DevicePlan[] = [];
  let port = 1;
  let bell = 0;
  for (const key of DEVICE_CONFIG_KEYS) {
    const backend = deviceBackendFor(key);
    config[key].forEach((entry, index) => {
      if (!backend) throw new ConfigError(`${key}: no backend registered`);
      const nrQueues = backend.nrQueues(entry);
      const flags = backend.notifyByHypercall?.(entry) ? DEVICE_FLAG.notify_by_hypercall : 0;
      const device = {
        type: backend.deviceType,
        id: index,
        mmio: plans.length,
        nrQueues,
        evtchn: port,
        doorbell: bell,
        flags,
      };
      plans.push({ key, backend, entry, index, device });
      port += nrQueues;
      bell += nrQueues;
    });
  }
  if (port > MAX_DEVICE_PORTS)
    throw new ConfigError(
      `${config.name}: devices need ${port - 1} event channels; at most ${MAX_DEVICE_PORTS - 1}`,
    );
  return plans;
}

/** Run each device type's prepare hook over its entries; one item per plan. */
export function prepareDevices(config: DomainConfig, plans: readonly DevicePlan[]): unknown[] {
  const out: unknown[] = new Array(plans.length).fill(undefined);
  const done: { backend: DeviceBackendType; items: unknown[] }[] = [];
  try {
    for (const key of DEVICE_CONFIG_KEYS) {
      const mine = plans.flatMap((p, i) => (p.key === key ? [i] : []));
      const backend = mine.length > 0 ? plans[mine[0]].backend : undefined;
      if (!backend?.prepare) continue;
      const items = backend.prepare(
        mine.map((i) => plans[i].entry),
        { domainName: config.name, baseDir: config.baseDir ?? process.cwd() },
      );
      done.push({ backend, items });
      mine.forEach((planIndex, k) => {
        out[planIndex] = items[k];
      });
    }
  } catch (e) {
    for (const d of done) for (const item of d.items) d.backend.release?.(item);
    throw e;
  }
  return out;
}
