// The generic virtio register model on the service side: a driver's init
// sequence through it lands in the device control block, kicks by trap ring
// the queue's doorbell, a backend's needs-reset shows in Status, and a reset
// is complete only once the backends let go of the queues.
import { ERRNO } from '@pvkit/hypercall';
import {
  DEVICE_STATE,
  DeviceControl,
  Doorbell,
  initMmioDriver,
  type RegisterAccess,
  RING_FEATURES,
  VIRTIO_MMIO,
  VIRTIO_STATUS,
} from '@pvkit/virtio-ring';
import { describe, expect, test } from 'vitest';
import type { MmioDeviceModel, MmioModelContext } from '../src/devices/models.ts';
import { virtioMmioModel } from '../src/devices/virtio-model.ts';
import type { ServiceDomain } from '../src/service/domain.ts';

function device(described = true) {
  const control = DeviceControl.create(2);
  if (described)
    control.describe({
      deviceId: 2,
      features: RING_FEATURES,
      queueMaxSizes: [8, 8],
      config: new Uint8Array([0x10, 0, 0, 0, 0, 0, 0, 0]),
    });
  const bells = Doorbell.createWords(3);
  const ctx: MmioModelContext = {
    domain: {} as ServiceDomain,
    handle: 0,
    device: {
      type: 2,
      id: 0,
      evtchn: 1,
      nrQueues: 2,
      config: {},
      control: control.buffer,
      doorbells: bells.buffer as SharedArrayBuffer,
      doorbell: 1, // queue 0 is doorbell 1, queue 1 doorbell 2
    },
  };
  const model = virtioMmioModel()(ctx);
  const regs: RegisterAccess = {
    read: (off) => model.read(off),
    write: (off, v) => void model.write(off, v),
  };
  const rings = (k: number) => Atomics.load(bells, k * 32);
  return { control, model, regs, rings };
}

function init(regs: RegisterAccess) {
  return initMmioDriver(regs, {
    wanted: RING_FEATURES,
    setupQueues: () => [{ index: 0, size: 8, desc: 0x1000, avail: 0x1100, used: 0x1200 }],
  });
}

describe('the virtio register model', () => {
  test('DRIVER_OK publishes features and queues, and rings the backends', () => {
    const { control, regs, rings } = device();
    expect(regs.read(VIRTIO_MMIO.CONFIG)).toBe(0x10);
    expect(init(regs)).toEqual({ ok: true, features: RING_FEATURES });
    const s = control.snapshot();
    expect(s.state).toBe(DEVICE_STATE.running);
    expect(s.features).toBe(RING_FEATURES);
    expect(s.queues[0]).toEqual({
      index: 0,
      ready: true,
      size: 8,
      desc: 0x1000,
      avail: 0x1100,
      used: 0x1200,
    });
    expect(s.queues[1].ready).toBe(false);
    expect(rings(1)).toBeGreaterThanOrEqual(1);
    expect(rings(2)).toBeGreaterThanOrEqual(1);
    expect(rings(0)).toBe(0); // another device's doorbell
  });

  test("a QueueNotify write rings that queue's doorbell", () => {
    const { regs, rings } = device();
    init(regs);
    const before = rings(1);
    regs.write(VIRTIO_MMIO.QUEUE_NOTIFY, 0);
    regs.write(VIRTIO_MMIO.QUEUE_NOTIFY, 0);
    expect(rings(1)).toBe(before + 2);
  });

  test("a backend's needs-reset shows as DEVICE_NEEDS_RESET; FAILED is published", () => {
    const { control, regs } = device();
    init(regs);
    expect(regs.read(VIRTIO_MMIO.STATUS) & VIRTIO_STATUS.DEVICE_NEEDS_RESET).toBe(0);
    control.setNeedsReset(0);
    expect(regs.read(VIRTIO_MMIO.STATUS) & VIRTIO_STATUS.DEVICE_NEEDS_RESET).not.toBe(0);
    regs.write(VIRTIO_MMIO.STATUS, regs.read(VIRTIO_MMIO.STATUS) | VIRTIO_STATUS.FAILED);
    expect(control.snapshot().state).toBe(DEVICE_STATE.failed);
  });

  test('after a reset, Status reads 0 only once the backends have acked it', () => {
    const { control, regs } = device();
    init(regs);
    const live = regs.read(VIRTIO_MMIO.STATUS);
    regs.write(VIRTIO_MMIO.STATUS, 0);
    expect(control.snapshot().state).toBe(DEVICE_STATE.reset);
    expect(regs.read(VIRTIO_MMIO.STATUS)).toBe(live); // queue 0's backend still holds its ring
    control.ack(0, control.generation);
    expect(regs.read(VIRTIO_MMIO.STATUS)).toBe(0);
  });

  test('a dead backend: the reset reads 0 at once, the init fails at DRIVER_OK until a restart', () => {
    const { control, regs } = device();
    expect(init(regs).ok).toBe(true);
    control.setBackendDown(0); // its worker died: nobody will ack the reset
    expect(regs.read(VIRTIO_MMIO.STATUS) & VIRTIO_STATUS.DEVICE_NEEDS_RESET).not.toBe(0);
    regs.write(VIRTIO_MMIO.STATUS, 0);
    expect(regs.read(VIRTIO_MMIO.STATUS)).toBe(0); // no waiting for the dead one
    expect(init(regs)).toMatchObject({ ok: false, failure: 'device-needs-reset' });
    control.clearBackendDown(); // restarted
    regs.write(VIRTIO_MMIO.STATUS, 0);
    expect(regs.read(VIRTIO_MMIO.STATUS)).toBe(0);
    expect(init(regs)).toEqual({ ok: true, features: RING_FEATURES });
    expect(control.snapshot()).toMatchObject({ state: DEVICE_STATE.running, needsReset: false });
  });

  test('a device whose backend never described it is absent: -ENODEV', () => {
    const { model } = device(false) as { model: MmioDeviceModel };
    expect(model.read(VIRTIO_MMIO.MAGIC_VALUE)).toBe(-ERRNO.ENODEV);
    expect(model.write(VIRTIO_MMIO.STATUS, 1)).toBe(-ERRNO.ENODEV);
  });
});
