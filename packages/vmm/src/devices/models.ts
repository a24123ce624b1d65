// Device register models, on the service side: the VMM owns each device's
// virtio-mmio registers (the model comes from @pvkit/virtio-ring) and the
// guest reaches them by pvkit_mmio_op. A device type plugs in with
// registerMmioModel in devices/builtin.ts, which the service worker imports.
// Until one does, every access is -ENODEV.
import type { ServiceDomain } from '../service/domain.ts';
import type { ServiceDeviceSetup } from '../service/protocol.ts';

/** One device's registers. Results are >= 0 or -errno, as for any hypercall. */
export interface MmioDeviceModel {
  read(offset: number): number;
  write(offset: number, value: number): number;
}

export interface MmioModelContext {
  domain: ServiceDomain;
  device: ServiceDeviceSetup;
  /** The handle the guest passes to pvkit_mmio_op (index in the device table). */
  handle: number;
}

export type MmioModelFactory = (ctx: MmioModelContext) => MmioDeviceModel;

const factories = new Map<number, MmioModelFactory>();
const models = new WeakMap<ServiceDomain, (MmioDeviceModel | null)[]>();

/** Register the register model of a device type (DEVICE_TYPE.*). */
export function registerMmioModel(type: number, factory: MmioModelFactory): void {
  if (factories.has(type)) throw new Error(`device type ${type} already has a register model`);
  factories.set(type, factory);
}

/** The model of device `handle` of `d` (made on first access), or undefined: -ENODEV. */
export function mmioModelFor(d: ServiceDomain, handle: number): MmioDeviceModel | undefined {
  let list = models.get(d);
  if (!list) {
    list = d.devices.map(() => null);
    models.set(d, list);
  }
  const made = list[handle];
  if (made) return made;
  const device = d.devices[handle];
  const factory = device && factories.get(device.type);
  if (!factory) return undefined;
  const model = factory({
    domain: d,
    device,
    handle,
  });
  list[handle] = model;
  return model;
}
