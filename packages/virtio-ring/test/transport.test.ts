// Feature sets, the device-status state machine, the virtio-mmio register
// model, and the driver's init sequence run against that model.
import { describe, expect, test } from 'vitest';
import {
  checkStatusWrite,
  DeviceStatus,
  describeFeatures,
  describeStatus,
  featureBit,
  featureHalves,
  featureSet,
  featuresFromHalves,
  featureWord,
  hasFeature,
  initMmioDriver,
  MmioDevice,
  type MmioHooks,
  type MmioProtocolError,
  queueFeatures,
  VIRTIO_MMIO as R,
  VIRTIO_STATUS as S,
  VIRTIO_F,
  VIRTIO_MMIO_INT,
  withFeatureWord,
} from '../src/index.ts';

describe('64-bit feature sets', () => {
  test('bits above 31 survive (no 32-bit number bit-ops)', () => {
    const f = featureSet(VIRTIO_F.VERSION_1, VIRTIO_F.RING_RESET, VIRTIO_F.EVENT_IDX, 63);
    expect(hasFeature(f, 32)).toBe(true);
    expect(hasFeature(f, 40)).toBe(true);
    expect(hasFeature(f, 0)).toBe(false);
    expect(featureWord(f, 0)).toBe(1 << 29);
    expect(featureWord(f, 1)).toBe(((1 << 0) | (1 << 8) | (2 ** 31)) >>> 0);
    expect(featureWord(f, 2)).toBe(0);
    expect(featuresFromHalves(...featureHalves(f))).toBe(f);
    expect(withFeatureWord(f, 1, 0)).toBe(featureBit(29));
    expect(withFeatureWord(0n, 1, 0xffffffff)).toBe(0xffffffffn << 32n);
    expect(withFeatureWord(f, 7, 123)).toBe(f);
    expect(() => featureBit(64)).toThrow(RangeError);
    expect(describeFeatures(f)).toBe('EVENT_IDX|VERSION_1|RING_RESET|bit63');
    expect(queueFeatures(featureSet(VIRTIO_F.INDIRECT_DESC))).toEqual({
      eventIdx: false,
      indirect: true,
    });
  });
});

describe('device status', () => {
  test('the forward path and every invalid write', () => {
    expect(checkStatusWrite(0, S.ACKNOWLEDGE)).toBeNull();
    expect(checkStatusWrite(0, S.DRIVER)).toBe('driver-before-acknowledge');
    expect(checkStatusWrite(1, 1 | S.FEATURES_OK)).toBe('features-ok-before-driver');
    expect(checkStatusWrite(3, 3 | S.FEATURES_OK | S.DRIVER_OK)).toBe(
      'driver-ok-before-features-ok',
    );
    expect(checkStatusWrite(3 | S.FEATURES_OK, 3 | S.FEATURES_OK | S.DRIVER_OK)).toBeNull();
    expect(checkStatusWrite(3, 1)).toBe('bit-cleared');
    expect(checkStatusWrite(3, 3 | 16)).toBe('unknown-bit');
    expect(checkStatusWrite(3, 3 | S.DEVICE_NEEDS_RESET)).toBe('device-only-bit');
    expect(
      checkStatusWrite(3 | S.DEVICE_NEEDS_RESET, 3 | S.DEVICE_NEEDS_RESET | S.FAILED),
    ).toBeNull();
    expect(checkStatusWrite(3 | S.FAILED, 3 | S.FAILED | S.FEATURES_OK)).toBe('set-after-failed');
    expect(checkStatusWrite(0xff, 0)).toBeNull(); // reset is always allowed
    expect(describeStatus(S.ACKNOWLEDGE | S.DRIVER | S.FAILED)).toBe('ACKNOWLEDGE|DRIVER|FAILED');
  });

  test('FEATURES_OK refused: the bit stays clear, then FAILED, then reset', () => {
    const st = new DeviceStatus();
    expect(st.driverWrite(1, () => true)).toEqual({ kind: 'ok', added: 1 });
    st.driverWrite(3, () => true);
    expect(st.driverWrite(3 | S.FEATURES_OK, () => false)).toEqual({ kind: 'features-refused' });
    expect(st.value).toBe(3);
    expect(st.driverWrite(3 | S.FAILED, () => true).kind).toBe('ok');
    expect(st.driverWrite(3 | S.FAILED | S.DRIVER_OK, () => true)).toEqual({
      kind: 'invalid',
      error: 'set-after-failed',
    });
    expect(st.driverWrite(0, () => true)).toEqual({ kind: 'reset' });
    expect(st.value).toBe(0);
  });

  test('DEVICE_NEEDS_RESET is kept by the device through driver writes', () => {
    const st = new DeviceStatus();
    st.driverWrite(1, () => true);
    st.setNeedsReset();
    expect(st.driverWrite(3, () => true).kind).toBe('ok');
    expect(st.value).toBe(3 | S.DEVICE_NEEDS_RESET);
  });
});

function device(
  hooks: MmioHooks = {},
  features = featureSet(VIRTIO_F.EVENT_IDX, VIRTIO_F.INDIRECT_DESC, 3),
) {
  const errors: MmioProtocolError[] = [];
  const config = new Uint8Array(16);
  new DataView(config.buffer).setBigUint64(0, 0x1234_5678_9abcn, true);
  const dev = new MmioDevice({
    deviceId: 2,
    features,
    queueMaxSizes: [256, 64],
    config,
    hooks: { protocolError: (e) => errors.push(e), ...hooks },
  });
  return { dev, errors };
}

describe('virtio-mmio register model', () => {
  test('identity registers and feature windows', () => {
    const { dev } = device();
    expect(dev.read(R.MAGIC_VALUE)).toBe(0x74726976);
    expect(dev.read(R.VERSION)).toBe(2);
    expect(dev.read(R.DEVICE_ID)).toBe(2);
    dev.write(R.DEVICE_FEATURES_SEL, 0);
    expect(dev.read(R.DEVICE_FEATURES)).toBe(((1 << 28) | (1 << 29) | (1 << 3)) >>> 0);
    dev.write(R.DEVICE_FEATURES_SEL, 1);
    expect(dev.read(R.DEVICE_FEATURES)).toBe(1); // VERSION_1 always offered
    dev.write(R.DEVICE_FEATURES_SEL, 2);
    expect(dev.read(R.DEVICE_FEATURES)).toBe(0);
  });

  test('driver features: accepted in both windows, only between DRIVER and FEATURES_OK', () => {
    const { dev, errors } = device();
    dev.write(R.DRIVER_FEATURES, 1);
    expect(errors.map((e) => e.kind)).toEqual(['features-outside-negotiation']);
    dev.write(R.STATUS, S.ACKNOWLEDGE);
    dev.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER);
    dev.write(R.DRIVER_FEATURES_SEL, 0);
    dev.write(R.DRIVER_FEATURES, 1 << 29);
    dev.write(R.DRIVER_FEATURES_SEL, 1);
    dev.write(R.DRIVER_FEATURES, 1);
    expect(dev.negotiated).toBe(featureSet(VIRTIO_F.EVENT_IDX, VIRTIO_F.VERSION_1));
    dev.write(R.STATUS, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
    expect(dev.read(R.STATUS) & S.FEATURES_OK).toBe(S.FEATURES_OK);
    dev.write(R.DRIVER_FEATURES, 0);
    expect(dev.negotiated).toBe(featureSet(VIRTIO_F.EVENT_IDX, VIRTIO_F.VERSION_1));
    expect(errors.at(-1)?.kind).toBe('features-outside-negotiation');
  });

  test('FEATURES_OK refused for unoffered bits, for a missing VERSION_1, and by the device hook', () => {
    const attempt = (sel0: number, sel1: number, accept = true) => {
      const { dev } = device({ acceptFeatures: () => accept });
      dev.write(R.STATUS, 1);
      dev.write(R.STATUS, 3);
      dev.write(R.DRIVER_FEATURES_SEL, 0);
      dev.write(R.DRIVER_FEATURES, sel0);
      dev.write(R.DRIVER_FEATURES_SEL, 1);
      dev.write(R.DRIVER_FEATURES, sel1);
      dev.write(R.STATUS, 3 | S.FEATURES_OK);
      return (dev.read(R.STATUS) & S.FEATURES_OK) !== 0;
    };
    expect(attempt(1 << 29, 1)).toBe(true);
    expect(attempt(1 << 5, 1)).toBe(false); // bit 5 not offered
    expect(attempt(1 << 29, 0)).toBe(false); // no VERSION_1
    expect(attempt(1 << 29, 1, false)).toBe(false); // the device says no
  });

  test('queue registers: select, size, 64-bit addresses, ready; frozen once ready', () => {
    const { dev, errors } = device();
    dev.write(R.QUEUE_SEL, 1);
    expect(dev.read(R.QUEUE_NUM_MAX)).toBe(64);
    dev.write(R.QUEUE_NUM, 100);
    dev.write(R.QUEUE_NUM, 128);
    expect(errors.map((e) => e.kind)).toEqual(['bad-queue-size', 'bad-queue-size']);
    dev.write(R.QUEUE_READY, 1);
    expect(errors.at(-1)?.kind).toBe('queue-not-configured');
    dev.write(R.QUEUE_NUM, 32);
    dev.write(R.QUEUE_DESC_LOW, 0x1000);
    dev.write(R.QUEUE_DESC_HIGH, 1);
    dev.write(R.QUEUE_DRIVER_LOW, 0x2000);
    dev.write(R.QUEUE_DEVICE_LOW, 0x3000);
    dev.write(R.QUEUE_READY, 1);
    expect(dev.read(R.QUEUE_READY)).toBe(1);
    expect(dev.queue(1)).toMatchObject({
      size: 32,
      desc: 2 ** 32 + 0x1000,
      avail: 0x2000,
      used: 0x3000,
      ready: true,
    });
    dev.write(R.QUEUE_NUM, 16);
    dev.write(R.QUEUE_DESC_LOW, 0);
    expect(errors.slice(-2).map((e) => e.kind)).toEqual([
      'queue-changed-while-ready',
      'queue-changed-while-ready',
    ]);
    expect(dev.queue(1)?.size).toBe(32);
    dev.write(R.QUEUE_SEL, 5);
    expect(dev.read(R.QUEUE_NUM_MAX)).toBe(0);
    dev.write(R.QUEUE_NUM, 8);
    expect(errors.at(-1)?.kind).toBe('no-such-queue');
  });

  test('notify only after DRIVER_OK and only for a ready queue; interrupt status and ACK', () => {
    const notified: number[] = [];
    const { dev, errors } = device({ notify: (q) => notified.push(q) });
    dev.write(R.QUEUE_NOTIFY, 0);
    expect(errors.at(-1)?.kind).toBe('notify-before-driver-ok');
    const r = initMmioDriver(dev, {
      wanted: 0n,
      setupQueues: () => [{ index: 0, size: 8, desc: 0x1000, avail: 0x2000, used: 0x3000 }],
    });
    expect(r.ok).toBe(true);
    dev.write(R.QUEUE_NOTIFY, 0);
    dev.write(R.QUEUE_NOTIFY, 1);
    expect(notified).toEqual([0]);
    expect(errors.at(-1)?.kind).toBe('no-such-queue');
    expect(dev.raiseInterrupt()).toBe(true);
    expect(dev.raiseInterrupt()).toBe(false); // already pending
    expect(dev.read(R.INTERRUPT_STATUS)).toBe(VIRTIO_MMIO_INT.VRING);
    dev.write(R.INTERRUPT_ACK, VIRTIO_MMIO_INT.VRING);
    expect(dev.read(R.INTERRUPT_STATUS)).toBe(0);
  });

  test('config space: sized reads, ConfigGeneration moves on change, writes go through the hook', () => {
    const writes: number[] = [];
    const { dev, errors } = device({
      configWrite: (off, _size, v) => {
        writes.push(off, v);
        return off === 8;
      },
    });
    const gen0 = dev.read(R.CONFIG_GENERATION);
    expect(dev.read(R.CONFIG + 0)).toBe(0x56789abc);
    expect(dev.read(R.CONFIG + 4)).toBe(0x1234);
    expect(dev.read(R.CONFIG + 1, 1)).toBe(0x9a);
    expect(dev.read(R.CONFIG + 2, 2)).toBe(0x5678);
    expect(dev.updateConfig((c) => c.setUint32(4, 0x9999, true))).toBe(true);
    expect(dev.read(R.CONFIG_GENERATION)).toBe(gen0 + 1);
    expect(dev.read(R.INTERRUPT_STATUS) & VIRTIO_MMIO_INT.CONFIG).toBe(VIRTIO_MMIO_INT.CONFIG);
    expect(dev.read(R.CONFIG + 4)).toBe(0x9999);
    dev.write(R.CONFIG + 8, 7, 1);
    dev.write(R.CONFIG + 9, 7, 1);
    expect(writes).toEqual([8, 7, 9, 7]);
    expect([dev.read(R.CONFIG + 8, 1), dev.read(R.CONFIG + 9, 1)]).toEqual([7, 0]);
    expect(dev.read(R.CONFIG + 14, 4)).toBe(0);
    expect(dev.read(R.CONFIG + 0, 3)).toBe(0);
    expect(errors.map((e) => e.kind)).toEqual(['config-out-of-range', 'bad-access-size']);
  });

  test('bad accesses are reported, never thrown', () => {
    const { dev, errors } = device();
    expect(dev.read(R.QUEUE_SEL)).toBe(0);
    expect(dev.read(0x0f0)).toBe(0);
    expect(dev.read(R.STATUS + 1)).toBe(0);
    expect(dev.read(R.STATUS, 2)).toBe(0);
    dev.write(R.MAGIC_VALUE, 0);
    dev.write(0x0f0, 0);
    dev.write(R.STATUS, 0xff); // bits a driver may not set
    expect(errors.map((e) => e.kind)).toEqual([
      'write-only-register',
      'unknown-register',
      'bad-access-size',
      'bad-access-size',
      'read-only-register',
      'unknown-register',
      'bad-status-write',
    ]);
    expect(errors.at(-1)?.statusError).toBe('unknown-bit');
    expect(dev.read(R.STATUS)).toBe(0);
  });

  test('reset clears negotiation and queues and calls the hook; DEVICE_NEEDS_RESET reaches the driver', () => {
    let resets = 0;
    const { dev } = device({ reset: () => resets++ });
    initMmioDriver(dev, {
      wanted: 0n,
      setupQueues: () => [{ index: 0, size: 8, desc: 0, avail: 0x100, used: 0x200 }],
    });
    expect(resets).toBe(1); // the driver's own reset at the start
    expect(dev.setNeedsReset()).toBe(true);
    expect(dev.read(R.STATUS) & S.DEVICE_NEEDS_RESET).toBe(S.DEVICE_NEEDS_RESET);
    expect(dev.read(R.INTERRUPT_STATUS) & VIRTIO_MMIO_INT.CONFIG).toBe(VIRTIO_MMIO_INT.CONFIG);
    dev.write(R.STATUS, 0);
    expect(resets).toBe(2);
    expect(dev.read(R.STATUS)).toBe(0);
    expect(dev.read(R.INTERRUPT_STATUS)).toBe(0);
    expect(dev.queue(0)?.ready).toBe(false);
    expect(dev.negotiated).toBe(0n);
  });
});

describe('the driver init sequence against the model', () => {
  test('success: features intersected, queues programmed, DRIVER_OK hook with the layout', () => {
    const seen: { status: number[]; driverOk?: [bigint, number] } = { status: [] };
    const { dev } = device({
      statusChanged: (s) => seen.status.push(s),
      driverOk: (f, qs) => {
        seen.driverOk = [f, qs.length];
      },
    });
    const r = initMmioDriver(dev, {
      deviceId: 2,
      wanted: featureSet(VIRTIO_F.EVENT_IDX, VIRTIO_F.RING_PACKED),
      setupQueues: (features, maxSize) => {
        expect(hasFeature(features, VIRTIO_F.EVENT_IDX)).toBe(true);
        expect(maxSize(0)).toBe(256);
        return [{ index: 0, size: 256, desc: 0x10000, avail: 0x11000, used: 0x12000 }];
      },
    });
    expect(r).toEqual({ ok: true, features: featureSet(VIRTIO_F.EVENT_IDX, VIRTIO_F.VERSION_1) });
    expect(seen.status).toEqual([1, 3, 11, 15]);
    expect(seen.driverOk).toEqual([featureSet(VIRTIO_F.EVENT_IDX, VIRTIO_F.VERSION_1), 1]);
    expect(dev.queue(0)).toMatchObject({
      size: 256,
      desc: 0x10000,
      avail: 0x11000,
      used: 0x12000,
      ready: true,
    });
  });

  test('FEATURES_OK refused: the driver sets FAILED and stops', () => {
    let driverOk = false;
    const { dev } = device({ acceptFeatures: () => false, driverOk: () => (driverOk = true) });
    const r = initMmioDriver(dev, {
      wanted: featureSet(VIRTIO_F.EVENT_IDX),
      setupQueues: () => [],
    });
    expect(r).toMatchObject({ ok: false, failure: 'features-refused' });
    expect(dev.read(R.STATUS)).toBe(S.ACKNOWLEDGE | S.DRIVER | S.FAILED);
    expect(driverOk).toBe(false);
  });

  test('other failure paths', () => {
    const missing = initMmioDriver(device().dev, {
      wanted: 0n,
      required: featureSet(VIRTIO_F.RING_RESET),
      setupQueues: () => [],
    });
    expect(missing).toMatchObject({ ok: false, failure: 'missing-feature' });
    const wrongType = initMmioDriver(device().dev, {
      deviceId: 1,
      wanted: 0n,
      setupQueues: () => [],
    });
    expect(wrongType).toMatchObject({ ok: false, failure: 'no-device' });
    const { dev } = device();
    const tooBig = initMmioDriver(dev, {
      wanted: 0n,
      setupQueues: () => [{ index: 1, size: 128, desc: 0, avail: 0, used: 0 }],
    });
    expect(tooBig).toMatchObject({ ok: false, failure: 'queue-unavailable' });
    expect(dev.read(R.STATUS) & S.FAILED).toBe(S.FAILED);
    const throws = initMmioDriver(device().dev, {
      wanted: 0n,
      setupQueues: () => {
        throw new Error('no memory for rings');
      },
    });
    expect(throws).toMatchObject({
      ok: false,
      failure: 'setup-failed',
      detail: 'no memory for rings',
    });
  });
});
