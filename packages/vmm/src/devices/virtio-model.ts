// The register model of any virtio device, on the service side: an
// @pvkit/virtio-ring MmioDevice built from the device control block the
// toolstack described at attach, with its hooks wired to the backends:
//
//   DRIVER_OK / reset / FAILED  -> DeviceControl.publish(), then ring every
//                                  queue's doorbell so sleeping backends look;
//   QueueNotify (a kick by trap) -> ring that queue's doorbell;
//   config space                -> what the toolstack last setConfig()'d: on the
//                                  first access after a change, ConfigGeneration
//                                  moves and the config interrupt bit is set;
//   Status reads                -> DEVICE_NEEDS_RESET once a backend reported
//                                  a broken queue, or while a queue's backend
//                                  is down (died, not yet restarted: the init
//                                  sequence then fails at DRIVER_OK); after a reset, the old
//                                  status until every backend has let go of
//                                  the queues (the driver waits for 0).
//
// A device type registers it with registerVirtioModel(DEVICE_TYPE.x, opts).

import { ERRNO, hostClockMs } from '@pvkit/hypercall';
import {
  DEVICE_STATE,
  DeviceControl,
  type DeviceStateValue,
  DOORBELL_STRIDE,
  Doorbell,
  type FeatureSet,
  MmioDevice,
  VIRTIO_MMIO,
  VIRTIO_STATUS,
} from '@pvkit/virtio-ring';
import type { MmioDeviceModel, MmioModelContext, MmioModelFactory } from './models.ts';
import { registerMmioModel } from './models.ts';

/** A backend that has not let go of its queues this long after a reset is presumed dead. */
const DRAIN_LIMIT_MS = 1000;

export interface VirtioModelOptions {
  /** Device rules for the driver's accepted features (e.g. virtio-net's dependencies). */
  acceptFeatures?(features: FeatureSet): boolean;
}

/** Driver mistakes per device, kept for `pvkit stat`-like inspection. */
export interface VirtioModelStats {
  protocolErrors: number;
  lastProtocolError: string;
}

class VirtioModel implements MmioDeviceModel {
  declare readonly dev: MmioDevice;
  readonly stats: VirtioModelStats = { protocolErrors: 0, lastProtocolError: '' };
  declare private readonly control: DeviceControl;
  declare private readonly bells: Doorbell[];
  /** Queues a backend may still be touching after a reset, and the status to show meanwhile. */
  private draining: number[] = [];
  private drainingStatus = 0;
  private drainUntilMs = 0;
  /** Status before the write being handled (the hooks run after it changed). */
  private statusBefore = 0;
  /** The control block's config_seq as last applied to the register model. */
  private configSeq = 0;

  constructor(ctx: MmioModelContext, opts: VirtioModelOptions) {
    const setup = ctx.device;
    this.control = new DeviceControl(setup.control);
    this.configSeq = this.control.configSeq; // description() below holds what it counts
    const words = new Int32Array(setup.doorbells);
    this.bells = Array.from(
      { length: this.control.nrQueues },
      (_, i) => new Doorbell(words, (setup.doorbell + i) * DOORBELL_STRIDE),
    );
    const d = this.control.description();
    this.dev = new MmioDevice({
      deviceId: d.deviceId,
      features: d.features,
      queueMaxSizes: d.queueMaxSizes,
      config: d.config,
      hooks: {
        acceptFeatures: opts.acceptFeatures,
        driverOk: (features, queues) => this.publish(DEVICE_STATE.running, features, queues),
        statusChanged: (status, before) => {
          const failedNow = (status & ~before & VIRTIO_STATUS.FAILED) !== 0;
          if (failedNow) this.publish(DEVICE_STATE.failed, 0n, []);
        },
        reset: () => {
          const live = this.control
            .snapshot()
            .queues.filter((q) => q.ready)
            .map((q) => q.index);
          this.publish(DEVICE_STATE.reset, 0n, []);
          this.draining = live;
          this.drainingStatus = this.statusBefore;
          this.drainUntilMs = hostClockMs() + DRAIN_LIMIT_MS;
        },
        notify: (queue) => this.bells[queue]?.ring(),
        configWrite: () => false, // config space is read-only for pvkit's devices
        protocolError: (e) => {
          this.stats.protocolErrors++;
          this.stats.lastProtocolError = `${e.kind} at 0x${e.offset.toString(16)}: ${e.detail}`;
        },
      },
    });
  }

  private publish(
    state: DeviceStateValue,
    features: FeatureSet,
    queues: {
      index: number;
      ready: boolean;
      size: number;
      desc: number;
      avail: number;
      used: number;
    }[],
  ): void {
    this.control.publish(state, features, queues);
    for (const b of this.bells) b.ring();
  }

  /** Take config space changes the toolstack made (setConfig) into the register model. */
  private syncConfig(): void {
    const seq = this.control.configSeq;
    if (seq === this.configSeq) return;
    this.configSeq = seq;
    const bytes = this.control.config();
    this.dev.updateConfig(() => this.dev.config.set(bytes));
  }

  read(offset: number): number {
    this.syncConfig();
    if (offset === VIRTIO_MMIO.STATUS) {
      const down = this.control.backendDown;
      if (this.draining.length > 0) {
        // A queue whose backend is gone has nobody to let go of it: don't wait for it.
        const live = this.draining.filter((q) => (down & (1 << q)) === 0);
        const waiting = !this.control.applied(live) && hostClockMs() < this.drainUntilMs;
        if (waiting) return this.drainingStatus;
        this.draining = [];
      }
      // A dead backend keeps the device broken across resets (until a restart),
      // but a reset still reads back 0: the driver may re-run the init sequence.
      const broken = this.control.needsReset || (down !== 0 && this.dev.status.value !== 0);
      if (broken && !this.dev.status.has(VIRTIO_STATUS.DEVICE_NEEDS_RESET))
        this.dev.setNeedsReset();
    }
    return this.dev.read(offset);
  }

  write(offset: number, value: number): number {
    this.syncConfig();
    this.statusBefore = this.dev.status.value;
    this.dev.write(offset, value);
    return 0;
  }
}

/** What a device whose backend never described it answers: there is no device. */
const ABSENT: MmioDeviceModel = { read: () => -ERRNO.ENODEV, write: () => -ERRNO.ENODEV };

/** The model factory for a virtio device type whose toolstack side describe()s a DeviceControl. */
export function virtioMmioModel(opts: VirtioModelOptions = {}): MmioModelFactory {
  return (ctx) =>
    new DeviceControl(ctx.device.control).description().deviceId === 0
      ? ABSENT
      : new VirtioModel(ctx, opts);
}

/** Register the generic virtio register model for DEVICE_TYPE `type`. */
export function registerVirtioModel(type: number, opts: VirtioModelOptions = {}): void {
  registerMmioModel(type, virtioMmioModel(opts));
}
