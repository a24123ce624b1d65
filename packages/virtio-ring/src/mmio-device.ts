// The virtio-mmio v2 register model a VMM owns for each device: what a
// guest's register reads and writes do, with their side effects, and hooks
// through which a device implementation plugs in. A bad guest access never
// throws: it is ignored and reported through the protocolError hook.

import { type FeatureSet, featureWord, hasFeature, VIRTIO_F, withFeatureWord } from './features.ts';
import { isValidQueueSize, MAX_QUEUE_SIZE } from './layout.ts';
import {
  VIRTIO_MMIO as R,
  type RegisterAccess,
  VIRTIO_MMIO_INT,
  VIRTIO_MMIO_MAGIC,
  VIRTIO_MMIO_VERSION,
} from './mmio-regs.ts';
import type {
  MmioDeviceOptions,
  MmioHooks,
  MmioProtocolError,
  MmioProtocolErrorKind,
  MmioQueueState,
} from './mmio-types.ts';
import { DeviceStatus, VIRTIO_STATUS } from './status.ts';

const TWO_32 = 4294967296;

const READ_ONLY = new Set<number>([
  R.MAGIC_VALUE,
  R.VERSION,
  R.DEVICE_ID,
  R.VENDOR_ID,
  R.DEVICE_FEATURES,
  R.QUEUE_NUM_MAX,
  R.INTERRUPT_STATUS,
  R.CONFIG_GENERATION,
]);
const WRITE_ONLY = new Set<number>([
  R.DEVICE_FEATURES_SEL,
  R.DRIVER_FEATURES,
  R.DRIVER_FEATURES_SEL,
  R.QUEUE_SEL,
  R.QUEUE_NUM,
  R.QUEUE_NOTIFY,
  R.INTERRUPT_ACK,
  R.QUEUE_DESC_LOW,
  R.QUEUE_DESC_HIGH,
  R.QUEUE_DRIVER_LOW,
  R.QUEUE_DRIVER_HIGH,
  R.QUEUE_DEVICE_LOW,
  R.QUEUE_DEVICE_HIGH,
]);
/** The six queue address registers, in order: desc lo/hi, driver lo/hi, device lo/hi. */
const QUEUE_ADDR_REGS: readonly number[] = [
  R.QUEUE_DESC_LOW,
  R.QUEUE_DESC_HIGH,
  R.QUEUE_DRIVER_LOW,
  R.QUEUE_DRIVER_HIGH,
  R.QUEUE_DEVICE_LOW,
  R.QUEUE_DEVICE_HIGH,
];
export class MmioDevice implements RegisterAccess {
  declare readonly deviceId: number;
  declare readonly vendorId: number;
  declare readonly offered: FeatureSet;
  declare readonly config: Uint8Array;
  readonly status = new DeviceStatus();
  declare hooks: MmioHooks;

  private driverFeatures: FeatureSet = 0n;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private queueSel = 0;
  declare private readonly queues: MmioQueueState[];
  /** Raw address registers per queue: desc lo/hi, driver lo/hi, device lo/hi. */
  declare private readonly addrRegs: Uint32Array[];
  private interruptStatus = 0;
  private generation = 0;
  declare private readonly configView: DataView;

  constructor(opts: MmioDeviceOptions) {
    this.deviceId = opts.deviceId;
    this.vendorId = opts.vendorId ?? 0x554d4551; // "QEMU", as most virtio-mmio devices report
    this.offered = opts.features | (1n << BigInt(VIRTIO_F.VERSION_1));
    this.config = new Uint8Array(opts.config ?? new Uint8Array(0));
    this.configView = new DataView(this.config.buffer);
    this.hooks = opts.hooks ?? {};
    this.queues = opts.queueMaxSizes.map((maxSize, index) => {
      if (!isValidQueueSize(maxSize) || maxSize > MAX_QUEUE_SIZE)
        throw new RangeError(`queue ${index}: QueueNumMax ${maxSize} not a power of 2 in 1..32768`);
      return { index, maxSize, size: 0, desc: 0, avail: 0, used: 0, ready: false };
    });
    this.addrRegs = this.queues.map(() => new Uint32Array(6));
  }

  /** The features the driver accepted (meaningful once FEATURES_OK holds). */
  get negotiated(): FeatureSet {
    return this.driverFeatures;
  }
  get configGeneration(): number {
    return this.generation;
  }
  get pendingInterrupts(): number {
    return this.interruptStatus;
  }
  queue(index: number): MmioQueueState | undefined {
    return this.queues[index];
  }

  read(offset: number, size = 4): number {
    if (offset >= R.CONFIG) return this.readConfig(offset - R.CONFIG, size);
    if (size !== 4 || offset % 4 !== 0) {
      this.report('bad-access-size', offset, `${size}-byte read`);
      return 0;
    }
    const q = this.queues[this.queueSel];
    switch (offset) {
      case R.MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
      case R.VERSION:
        return VIRTIO_MMIO_VERSION;
      case R.DEVICE_ID:
        return this.deviceId;
      case R.VENDOR_ID:
        return this.vendorId;
      case R.DEVICE_FEATURES:
        return featureWord(this.offered, this.deviceFeaturesSel);
      case R.QUEUE_NUM_MAX:
        return q ? q.maxSize : 0;
      case R.QUEUE_READY:
        return q?.ready ? 1 : 0;
      case R.INTERRUPT_STATUS:
        return this.interruptStatus;
      case R.STATUS:
        return this.status.value;
      case R.CONFIG_GENERATION:
        return this.generation;
      default:
        this.report(
          WRITE_ONLY.has(offset) ? 'write-only-register' : 'unknown-register',
          offset,
          'read',
        );
        return 0;
    }
  }

  write(offset: number, value: number, size = 4): void {
    if (offset >= R.CONFIG) {
      this.writeConfig(offset - R.CONFIG, value, size);
      return;
    }
    if (size !== 4 || offset % 4 !== 0) {
      this.report('bad-access-size', offset, `${size}-byte write`);
      return;
    }
    const v = value >>> 0;
    switch (offset) {
      case R.DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = v;
        break;
      case R.DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = v;
        break;
      case R.DRIVER_FEATURES:
        this.writeDriverFeatures(v);
        break;
      case R.QUEUE_SEL:
        this.queueSel = v;
        break;
      case R.QUEUE_NUM:
        this.writeQueueNum(v);
        break;
      case R.QUEUE_READY:
        this.writeQueueReady(v);
        break;
      case R.QUEUE_NOTIFY:
        this.writeNotify(v);
        break;
      case R.INTERRUPT_ACK:
        this.interruptStatus &= ~v;
        break;
      case R.STATUS:
        this.writeStatus(v);
        break;
      default:
        if (QUEUE_ADDR_REGS.includes(offset)) this.writeQueueAddr(offset, v);
        else if (READ_ONLY.has(offset)) this.report('read-only-register', offset, `write of ${v}`);
        else this.report('unknown-register', offset, `write of ${v}`);
    }
  }

  // ---- the device side ----

  /** Raise InterruptStatus bits; true if any was newly set (then signal the guest). */
  raiseInterrupt(bits: number = VIRTIO_MMIO_INT.VRING): boolean {
    const before = this.interruptStatus;
    this.interruptStatus |= bits;
    return this.interruptStatus !== before;
  }

  /** Change config space: ConfigGeneration moves and a config interrupt is raised. */
  updateConfig(change: (config: DataView) => void): boolean {
    change(this.configView);
    this.generation = (this.generation + 1) >>> 0;
    return this.raiseInterrupt(VIRTIO_MMIO_INT.CONFIG);
  }

  /** A queue broke (VirtqueueError): set DEVICE_NEEDS_RESET and tell the driver. */
  setNeedsReset(): boolean {
    this.status.setNeedsReset();
    return (
      (this.status.value & VIRTIO_STATUS.DRIVER_OK) !== 0 &&
      this.raiseInterrupt(VIRTIO_MMIO_INT.CONFIG)
    );
  }

  // ---- register side effects ----

  private writeDriverFeatures(value: number): void {
    const s = this.status.value;
    if ((s & VIRTIO_STATUS.DRIVER) === 0 || (s & VIRTIO_STATUS.FEATURES_OK) !== 0) {
      this.report('features-outside-negotiation', R.DRIVER_FEATURES, `status 0x${s.toString(16)}`);
      return;
    }
    this.driverFeatures = withFeatureWord(this.driverFeatures, this.driverFeaturesSel, value);
  }

  /** The selected queue if the driver may still configure it, else undefined (reported). */
  private configurable(offset: number): MmioQueueState | undefined {
    const q = this.queues[this.queueSel];
    if (!q) this.report('no-such-queue', offset, `queue ${this.queueSel}`);
    else if (q.ready) this.report('queue-changed-while-ready', offset, `queue ${q.index}`);
    else return q;
    return undefined;
  }

  private writeQueueNum(value: number): void {
    const q = this.configurable(R.QUEUE_NUM);
    if (!q) return;
    if (!isValidQueueSize(value) || value > q.maxSize)
      this.report('bad-queue-size', R.QUEUE_NUM, `${value} (max ${q.maxSize})`);
    else q.size = value;
  }

  private writeQueueAddr(offset: number, value: number): void {
    const q = this.configurable(offset);
    if (!q) return;
    const reg = QUEUE_ADDR_REGS.indexOf(offset);
    const r = this.addrRegs[q.index];
    r[reg] = value;
    const pair = reg & ~1;
    const addr = r[pair + 1] * TWO_32 + r[pair];
    if (pair === 0) q.desc = addr;
    else if (pair === 2) q.avail = addr;
    else q.used = addr;
  }

  private writeQueueReady(value: number): void {
    const q = this.queues[this.queueSel];
    if (!q) this.report('no-such-queue', R.QUEUE_READY, `queue ${this.queueSel}`);
    else if (value === 0) q.ready = false;
    else if (q.size === 0)
      this.report('queue-not-configured', R.QUEUE_READY, `queue ${q.index} has no size`);
    else q.ready = true;
  }

  private writeNotify(value: number): void {
    const index = value & 0xffff;
    if (!this.status.has(VIRTIO_STATUS.DRIVER_OK))
      this.report('notify-before-driver-ok', R.QUEUE_NOTIFY, `notify ${value}`);
    else if (!this.queues[index]?.ready)
      this.report('no-such-queue', R.QUEUE_NOTIFY, `notify of queue ${index}`);
    else this.hooks.notify?.(index, value);
  }

  private writeStatus(value: number): void {
    const before = this.status.value;
    const out = this.status.driverWrite(value & 0xff, () => this.featuresAcceptable());
    if (out.kind === 'invalid') {
      const e: MmioProtocolError = {
        kind: 'bad-status-write',
        offset: R.STATUS,
        detail: `${before} -> ${value}`,
        statusError: out.error,
      };
      this.hooks.protocolError?.(e);
      return;
    }
    if (out.kind === 'reset') {
      this.resetRegisters();
      this.hooks.reset?.();
      return;
    }
    this.hooks.statusChanged?.(this.status.value, before);
    if (out.kind === 'ok' && (out.added & VIRTIO_STATUS.DRIVER_OK) !== 0)
      this.hooks.driverOk?.(
        this.driverFeatures,
        this.queues.filter((q) => q.ready).map((q) => ({ ...q })),
      );
  }

  /** Our own rules first (a subset of the offer, VERSION_1), then the device's. */
  private featuresAcceptable(): boolean {
    const f = this.driverFeatures;
    if ((f & ~this.offered) !== 0n) return false;
    if (!hasFeature(f, VIRTIO_F.VERSION_1)) return false;
    return this.hooks.acceptFeatures?.(f) ?? true;
  }

  private resetRegisters(): void {
    this.driverFeatures = 0n;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.queueSel = 0;
    this.interruptStatus = 0;
    for (const q of this.queues)
      Object.assign(q, { size: 0, desc: 0, avail: 0, used: 0, ready: false });
    for (const r of this.addrRegs) r.fill(0);
  }

  private readConfig(off: number, size: number): number {
    if (!this.configAccessOk(off, size)) return 0;
    const v = this.configView;
    return size === 1
      ? v.getUint8(off)
      : size === 2
        ? v.getUint16(off, true)
        : v.getUint32(off, true);
  }

  private writeConfig(off: number, value: number, size: number): void {
    if (!this.configAccessOk(off, size)) return;
    if (!this.hooks.configWrite?.(off, size, value)) return;
    const v = this.configView;
    if (size === 1) v.setUint8(off, value);
    else if (size === 2) v.setUint16(off, value, true);
    else v.setUint32(off, value, true);
  }

  private configAccessOk(off: number, size: number): boolean {
    if (size !== 1 && size !== 2 && size !== 4) {
      this.report('bad-access-size', R.CONFIG + off, `${size}-byte config access`);
      return false;
    }
    if (!Number.isInteger(off) || off < 0 || off + size > this.config.length) {
      this.report(
        'config-out-of-range',
        R.CONFIG + off,
        `${size} bytes at ${off} of ${this.config.length}`,
      );
      return false;
    }
    return true;
  }

  private report(kind: MmioProtocolErrorKind, offset: number, detail: string): void {
    this.hooks.protocolError?.({ kind, offset, detail });
  }
}
