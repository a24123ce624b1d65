// The driver's side of device initialisation (VIRTIO 1.2 §3.1.1) over a
// virtio-mmio register block: reset, ACKNOWLEDGE, DRIVER, negotiate
// features, FEATURES_OK and its re-check, queues, DRIVER_OK. Any failure
// sets FAILED, as the spec asks, and says why.

import { type FeatureSet, featuresFromHalves, featureWord, VIRTIO_F } from './features.ts';
import type { QueueAddresses } from './layout.ts';
import {
  VIRTIO_MMIO as R,
  type RegisterAccess,
  VIRTIO_MMIO_MAGIC,
  VIRTIO_MMIO_VERSION,
} from './mmio-regs.ts';
import { VIRTIO_STATUS as S } from './status.ts';

export type DriverInitFailure =
  /** No virtio-mmio magic, not version 2, DeviceID 0 (no device) or not the expected type. */
  | 'no-device'
  /** The device lacks a feature the driver requires. */
  | 'missing-feature'
  /** The device cleared FEATURES_OK: it refused the accepted set. */
  | 'features-refused'
  /** A queue the driver needs has QueueNumMax 0, is already live, or is smaller than asked. */
  | 'queue-unavailable'
  /** The driver's own setup callback threw. */
  | 'setup-failed'
  /** The device flagged DEVICE_NEEDS_RESET during initialisation. */
  | 'device-needs-reset';

export type DriverInitResult =
  | { ok: true; features: FeatureSet }
  | { ok: false; failure: DriverInitFailure; detail: string };

export interface DriverInitOptions {
  /** Expected DeviceID (e.g. 2 for blk); omit to accept any device. */
  deviceId?: number;
  /** Features the driver can use; the accepted set is the intersection with the offer. */
  wanted: FeatureSet;
  /** Features it cannot work without (VERSION_1 always). */
  required?: FeatureSet;
  /**
   * Lay out the queues for the negotiated features. `maxSize(i)` is queue
   * i's QueueNumMax (0: absent). Returns the queues to program, by index.
   */
  setupQueues(
    features: FeatureSet,
    maxSize: (index: number) => number,
  ): (QueueAddresses & { index: number })[];
}

const TWO_32 = 4294967296;

export function initMmioDriver(regs: RegisterAccess, opts: DriverInitOptions): DriverInitResult {
  const fail = (failure: DriverInitFailure, detail: string): DriverInitResult => {
    regs.write(R.STATUS, regs.read(R.STATUS) | S.FAILED);
    return { ok: false, failure, detail };
  };
  const magic = regs.read(R.MAGIC_VALUE);
  const version = regs.read(R.VERSION);
  const id = regs.read(R.DEVICE_ID);
  if (magic !== VIRTIO_MMIO_MAGIC || version !== VIRTIO_MMIO_VERSION || id === 0)
    return {
      ok: false,
      failure: 'no-device',
      detail: `magic 0x${magic.toString(16)} version ${version} id ${id}`,
    };
  if (opts.deviceId !== undefined && id !== opts.deviceId)
    return {
      ok: false,
      failure: 'no-device',
      detail: `device id ${id}, expected ${opts.deviceId}`,
    };

  regs.write(R.STATUS, 0);
  let status = S.ACKNOWLEDGE;
  regs.write(R.STATUS, status);
  status |= S.DRIVER;
  regs.write(R.STATUS, status);

  regs.write(R.DEVICE_FEATURES_SEL, 0);
  const lo = regs.read(R.DEVICE_FEATURES);
  regs.write(R.DEVICE_FEATURES_SEL, 1);
  const offered = featuresFromHalves(lo, regs.read(R.DEVICE_FEATURES));
  const required = (opts.required ?? 0n) | (1n << BigInt(VIRTIO_F.VERSION_1));
  if ((offered & required) !== required)
    return fail(
      'missing-feature',
      `required 0x${required.toString(16)}, offered 0x${offered.toString(16)}`,
    );
  const accepted = offered & (opts.wanted | required);
  for (const sel of [0, 1]) {
    regs.write(R.DRIVER_FEATURES_SEL, sel);
    regs.write(R.DRIVER_FEATURES, featureWord(accepted, sel));
  }
  status |= S.FEATURES_OK;
  regs.write(R.STATUS, status);
  if ((regs.read(R.STATUS) & S.FEATURES_OK) === 0)
    return fail('features-refused', `device refused 0x${accepted.toString(16)}`);

  const maxSize = (index: number): number => {
    regs.write(R.QUEUE_SEL, index);
    return regs.read(R.QUEUE_NUM_MAX);
  };
  let queues: (QueueAddresses & { index: number })[];
  try {
    queues = opts.setupQueues(accepted, maxSize);
  } catch (e) {
    return fail('setup-failed', e instanceof Error ? e.message : String(e));
  }
  for (const q of queues) {
    regs.write(R.QUEUE_SEL, q.index);
    const max = regs.read(R.QUEUE_NUM_MAX);
    if (max === 0 || q.size > max || regs.read(R.QUEUE_READY) !== 0)
      return fail('queue-unavailable', `queue ${q.index}: max ${max}, asked ${q.size}`);
    regs.write(R.QUEUE_NUM, q.size);
    const pairs: [number, number][] = [
      [R.QUEUE_DESC_LOW, q.desc],
      [R.QUEUE_DRIVER_LOW, q.avail],
      [R.QUEUE_DEVICE_LOW, q.used],
    ];
    for (const [reg, addr] of pairs) {
      regs.write(reg, addr % TWO_32);
      regs.write(reg + 4, Math.floor(addr / TWO_32));
    }
    regs.write(R.QUEUE_READY, 1);
  }
  status |= S.DRIVER_OK;
  regs.write(R.STATUS, status);
  if ((regs.read(R.STATUS) & S.DEVICE_NEEDS_RESET) !== 0)
    return fail('device-needs-reset', 'the device flagged DEVICE_NEEDS_RESET at DRIVER_OK');
  return { ok: true, features: accepted };
}
