// Domain creation, device side: where each device sits (table entry, event
// ports, doorbells), its host resources checked for all devices at once
// before any worker starts, and its backend attached.
import { DEVICE_FLAG, NR_EVENT_CHANNELS } from '@pvkit/hypercall';
import type { DeviceControl } from '@pvkit/virtio-ring';
import type { DeviceEntry } from '../boot/guest-memory.ts';
import { type RestartPolicy, splitRestart } from '../config/restart.ts';
import { ConfigError, type DomainConfig } from '../config/schema.ts';
import {
  DEVICE_CONFIG_KEYS,
  type DeviceAttachContext,
  type DeviceAttachment,
  type DeviceBackendType,
  deviceBackendFor,
} from '../devices/registry.ts';
import type { Domain } from './domain.ts';

/** Device queues may take the low half of the event channel ports; the guest keeps the rest. */
const MAX_DEVICE_PORTS = NR_EVENT_CHANNELS / 2;

export interface DevicePlan {
  key: (typeof DEVICE_CONFIG_KEYS)[number];
  backend: DeviceBackendType;
  /** The config entry without the toolstack's own "restart" key. */
  entry: Record<string, unknown>;
  restart: RestartPolicy;
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
    config[key].forEach((raw, index) => {
      if (!backend) throw new ConfigError(`${key}: no backend registered`);
      const { entry, policy } = splitRestart(raw);
      if (typeof policy === 'string') throw new ConfigError(`${key}[${index}]: ${policy}`);
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
      plans.push({ key, backend, entry, restart: policy, index, device });
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

/** Attach every device's backend; if one fails, detach the others and rethrow. */
export async function attachDevices(
  dom: Domain,
  plans: readonly DevicePlan[],
  controls: readonly DeviceControl[],
  prepared: readonly unknown[],
  hooks: Pick<DeviceAttachContext, 'startWorker' | 'log'> & {
    /** Device i's backend died (its restart policy decides what happens). */
    backendDied(i: number): void;
  },
): Promise<DeviceAttachment[]> {
  const contexts: DeviceAttachContext[] = plans.map((p, i) => ({
    domid: dom.domid,
    domainName: dom.name,
    memory: dom.memory,
    wasmMemory: dom.wasmMemory,
    doorbells: dom.deviceDoorbells as SharedArrayBuffer,
    doorbell: p.device.doorbell,
    evtchn: p.device.evtchn,
    control: controls[i],
    entry: p.entry,
    prepared: prepared[i],
    index: p.index,
    startWorker: hooks.startWorker,
    log: hooks.log,
    backendDied: () => hooks.backendDied(i),
  }));
  dom.restartPolicies = plans.map((p) => p.restart);
  // Kept: a restart (./device-restart.ts) attaches a fresh backend with the same context.
  dom.deviceContexts = contexts;
  const results = await Promise.allSettled(plans.map((p, i) => p.backend.attach(contexts[i])));
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((a) => a.detach()));
    throw failed.reason;
  }
  return ok;
}
