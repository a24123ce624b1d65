// The device extension points, before any device exists: a backend type
// registered for "disks" gets its config entries and an attach call; the
// guest finds the device in its start_info table with its event port bound;
// register access without a register model is -ENODEV, never a crash.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { DEVICE_TYPE, ERRNO, EVTCHNSTAT, raiseEvent } from '../packages/hypercall/src/index.ts';
import {
  type DeviceAttachContext,
  type DeviceBackendType,
  deviceBackendFor,
  registerDeviceBackend,
  unregisterDeviceBackend,
} from '../packages/vmm/src/index.ts';
import { exitOf, guestConfig, testVmm } from './lib/harness.ts';

// These tests stand a fake "disks" backend in for the real one, then put it back.
let real: DeviceBackendType | undefined;
beforeEach(() => {
  real = deviceBackendFor('disks');
  unregisterDeviceBackend('disks');
});
afterEach(() => {
  unregisterDeviceBackend('disks');
  if (real) registerDeviceBackend(real);
});

test('a registered backend is attached and detached; the guest sees its device', async () => {
  const attached: DeviceAttachContext[] = [];
  let detached = 0;
  registerDeviceBackend({
    key: 'disks',
    deviceType: DEVICE_TYPE.blk,
    validate: (e) => (typeof e.path === 'string' ? null : 'path: must name an image'),
    nrQueues: () => 2,
    attach: async (ctx) => {
      attached.push(ctx);
      return { detach: async () => void detached++ };
    },
  });
  const vmm = testVmm();
  const entry = { path: 'disk.img' };
  const [dom] = await vmm.createDomains([guestConfig('withdisk', 'devices', { disks: [entry] })]);
  expect(attached).toHaveLength(1);
  expect(attached[0]).toMatchObject({ domid: dom.domid, evtchn: 1, doorbell: 0, index: 0, entry });
  expect(attached[0].memory).toBe(dom.memory);
  // What a backend can do with what it was handed: raise its queue's port.
  expect(
    raiseEvent(new Int32Array(attached[0].memory), attached[0].evtchn + 1),
  ).toBeGreaterThanOrEqual(0);
  vmm.start(dom);
  expect(await exitOf(dom)).toEqual({ reason: 'poweroff', code: 0 });
  expect(dom.consoleLog).toEqual([
    'magic-ok 1',
    'devices 1',
    `device 0 type ${DEVICE_TYPE.blk} queues 2 evtchn 1 doorbell 0`,
    `status 0 ${EVTCHNSTAT.device}`,
    `mmio-read-0 ${-ERRNO.ENODEV}`,
    `mmio-read-9 ${-ERRNO.ENODEV}`,
    `mmio-narrow ${-ERRNO.EINVAL}`,
    'doorbells 256', // two queues, one 128-byte doorbell each (DOORBELL_STRIDE)
  ]);
  expect(detached).toBe(1);
});

test('the pvkit kernel reports a device it has no driver for, and boots on', async () => {
  registerDeviceBackend({
    key: 'disks',
    deviceType: DEVICE_TYPE.console,
    validate: () => null,
    nrQueues: () => 1,
    attach: async () => ({ detach: async () => {} }),
  });
  const vmm = testVmm();
  const [dom] = await vmm.createDomains([
    {
      name: 'nodriver',
      memory: 4 << 20,
      vcpus: 1,
      cmdline: '',
      apps: ['hello'],
      disks: [{}],
      nics: [],
    },
  ]);
  vmm.start(dom);
  expect(await exitOf(dom)).toEqual({ reason: 'poweroff', code: 0 });
  expect(dom.consoleLog[2]).toBe('  vcpus: 1; devices: dev0 (virtio-console); cmdline: ""');
  expect(dom.consoleLog).toContain('devices: dev0 (virtio-console): no driver, left alone');
});

test('a backend that fails to attach fails the create: earlier backends detached, no domain left', async () => {
  let detached = 0;
  registerDeviceBackend({
    key: 'disks',
    deviceType: DEVICE_TYPE.blk,
    validate: () => null,
    nrQueues: () => 1,
    attach: async (ctx) => {
      if (ctx.index === 1) throw new Error('disk 1: image is locked');
      return { detach: async () => void detached++ };
    },
  });
  const vmm = testVmm();
  await expect(
    vmm.createDomains([guestConfig('halfdisk', 'devices', { disks: [{}, {}] })]),
  ).rejects.toThrow('disk 1: image is locked');
  expect(detached).toBe(1);
  expect(vmm.domains).toEqual([]);
  expect(vmm.serviceStats()?.domains ?? 0).toBe(0);
});
