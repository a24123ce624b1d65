// Devices (Mini-OS's *front.c probes): for each entry of the start_info
// device table, the driver registered for its type is asked to probe it.
// Drivers register by device type (DEVICE_TYPE.*) from ./drivers.ts; a
// device with no driver is reported and left alone.
import { DEVICE_TYPE } from '@pvkit/hypercall';
import type { Kernel } from './kernel.ts';
import type { DeviceInfo } from './start-info.ts';

export interface Driver {
  /** "virtio-blk", ... */
  name: string;
  /** DEVICE_TYPE.* */
  type: number;
  /** Bring the device up (the virtio probe sequence); throw to report failure. */
  probe(dev: DeviceInfo, kernel: Kernel): Promise<void>;
}

const drivers = new Map<number, Driver>();

export function registerDriver(d: Driver): void {
  if (drivers.has(d.type)) throw new Error(`a driver for device type ${d.type} exists already`);
  drivers.set(d.type, d);
}

const TYPE_NAMES = new Map<number, string>(
  Object.entries(DEVICE_TYPE).map(([name, type]) => [type, `virtio-${name}`]),
);

/** "vda (virtio-blk)": how the banner and probe lines name a device. */
export function deviceName(dev: DeviceInfo): string {
  const kind = TYPE_NAMES.get(dev.type) ?? `type ${dev.type}`;
  const prefix = dev.type === DEVICE_TYPE.blk ? 'vd' : dev.type === DEVICE_TYPE.net ? 'eth' : 'dev';
  const id = dev.type === DEVICE_TYPE.blk ? String.fromCharCode(97 + (dev.id % 26)) : `${dev.id}`;
  return `${prefix}${id} (${kind})`;
}

/** Probe every device; returns how many came up. */
export async function probeDevices(kernel: Kernel): Promise<number> {
  let up = 0;
  for (const dev of kernel.info.devices) {
    const driver = drivers.get(dev.type);
    if (!driver) {
      kernel.console.printk(`devices: ${deviceName(dev)}: no driver, left alone`);
      continue;
    }
    try {
      await driver.probe(dev, kernel);
      kernel.console.printk(`devices: ${deviceName(dev)}: ${driver.name} up`);
      up++;
    } catch (e) {
      kernel.console.printk(
        `devices: ${deviceName(dev)}: ${driver.name} probe failed: ${String(e)}`,
      );
    }
  }
  return up;
}
