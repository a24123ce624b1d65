// A backend started in place of a dead one (Vmm.restartDevice) must not
// serve the rings the driver set up before the break: it binds to a queue
// only at the driver's next DRIVER_OK, after the reset.
import {
  DEVICE_STATE,
  DeviceControl,
  DeviceCounters,
  Doorbell,
  RING_FEATURES,
} from '@pvkit/virtio-ring';
import { expect, test } from 'vitest';
import { VirtqueueBackend } from '../src/virtio/index.ts';

test('a fresh backend ignores the queues of before the break, and binds after reset + DRIVER_OK', () => {
  const memory = new SharedArrayBuffer(1 << 16);
  const control = DeviceControl.create(1);
  control.describe({
    deviceId: 2,
    features: RING_FEATURES,
    queueMaxSizes: [8],
    config: new Uint8Array(0),
  });
  const q = { index: 0, ready: true, size: 8, desc: 0x1000, avail: 0x1100, used: 0x1200 };
  control.publish(DEVICE_STATE.running, RING_FEATURES, [q]);
  control.setBackendDown(0); // the old backend died with the queue live
  const data = {
    memory,
    control: control.buffer,
    counters: DeviceCounters.create(1, 0).buffer,
    doorbells: Doorbell.createWords(1).buffer as SharedArrayBuffer,
    doorbell: 0,
    evtchn: 1,
    queue: 0,
  };
  control.clearBackendDown(); // restarted: but the driver has not reset yet
  const b = new VirtqueueBackend(data);
  expect(b.sync()).toBeNull();
  expect(b.queue).toBeNull();
  control.publish(DEVICE_STATE.reset, 0n, []); // the driver's reset
  expect(b.controlChanged).toBe(true);
  expect(b.sync()).toBeNull();
  expect(control.applied([0])).toBe(true); // the reset reads back 0 at once
  control.publish(DEVICE_STATE.running, RING_FEATURES, [q]); // the new DRIVER_OK
  expect(b.sync()?.kind).toBe('started');
  expect(b.queue).not.toBeNull();
});
