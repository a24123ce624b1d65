// The device control block: how a virtio device's register model (in a VMM
// thread) and its backend (in worker threads that sleep in Atomics.wait, so
// cannot take messages) share what the driver negotiated. vhost-user sends
// SET_FEATURES / SET_VRING_ADDR / SET_VRING_ENABLE messages; here the same
// facts sit in one small SharedArrayBuffer:
//
//   the toolstack   describe()s the device once (ID, offered features,
//                   QueueNumMax per queue, config space) before anyone runs;
//   the model       publish()es each change the driver makes (DRIVER_OK with
//                   features and queue GPAs, reset, FAILED) under a seqlock,
//                   then rings the queues' doorbells;
//   each backend    notices the generation move, snapshot()s, validates the
//                   GPAs itself (the guest wrote them), and acks; it reports
//                   a broken queue with setNeedsReset(), which the model
//                   folds into Status reads as DEVICE_NEEDS_RESET;
//   the toolstack   requestStop()s at detach.
//
// Every field is an Int32 word accessed with Atomics; nothing here is on a
// per-request path except the one load of `generation` per backend pass.
import type { FeatureSet } from './features.ts';
import { featuresFromHalves, featureWord } from './features.ts';
import type { QueueAddresses } from './layout.ts';

/** Int32 word indices of the header. */
export const DEVICE_CONTROL = {
  /** Seqlock: odd while the model writes; every publish adds 2. */
  generation: 0,
  /** DEVICE_STATE.* */
  state: 1,
  /** Negotiated features (valid in state running). */
  features_lo: 2,
  features_hi: 3,
  /** Set by a backend: bit q = queue q broke (the driver must reset). */
  needs_reset: 4,
  /** Set by the toolstack at detach: backends stop and release everything. */
  stop: 5,
  /**
   * Set by the toolstack: bit q = queue q's backend worker is gone (it died,
   * or is being replaced). Cleared when a fresh backend is started
   * (restart); until then Status shows DEVICE_NEEDS_RESET, even after a reset.
   */
  backend_down: 6,
  /** Bumped by the toolstack after it rewrote config space (setConfig): the model and backends re-read it. */
  config_seq: 7,
  // Written once by describe(), before the model or a backend exists.
  device_id: 8,
  offered_lo: 9,
  offered_hi: 10,
  nr_queues: 11,
  config_len: 12,
  /** Per-queue blocks start here, QUEUE_CONTROL_STRIDE words each. */
  queues: 32,
} as const;

/** Int32 word offsets inside one queue's block. */
export const QUEUE_CONTROL = {
  /** QueueNumMax (describe()). */
  max_size: 0,
  /** The rest: what the driver wrote, as of the last publish(). */
  size: 1,
  ready: 2,
  desc_lo: 3,
  desc_hi: 4,
  avail_lo: 5,
  avail_hi: 6,
  used_lo: 7,
  used_hi: 8,
  /** The backend of this queue writes the generation it has applied. */
  applied: 16,
} as const;
/** 32 words = 128 bytes: a queue's `applied` word sits on its own cache line. */
export const QUEUE_CONTROL_STRIDE = 32;

/** Most queues one device control block describes (one needs_reset bit each). */
export const MAX_CONTROL_QUEUES = 32;
/** Largest device config space a control block carries (virtio-mmio allows up to 0xf00). */
export const MAX_CONTROL_CONFIG = 1024;

/** What the driver last did to the device, as backends must act on it. */
export const DEVICE_STATE = {
  /** Not yet DRIVER_OK, or reset: queues are not live. */
  reset: 0,
  /** DRIVER_OK: serve the ready queues. */
  running: 1,
  /** The driver set FAILED: stop serving until a reset. */
  failed: 2,
} as const;
export type DeviceStateValue = (typeof DEVICE_STATE)[keyof typeof DEVICE_STATE];

export interface DeviceDescription {
  deviceId: number;
  /** Offered features, transport bits included. */
  features: FeatureSet;
  /** QueueNumMax of each queue. */
  queueMaxSizes: readonly number[];
  /** Initial config space. */
  config: Uint8Array;
}

/** One queue as the driver set it up (unvalidated: check against guest memory). */
export interface ControlQueue extends QueueAddresses {
  index: number;
  ready: boolean;
}

export interface DeviceControlSnapshot {
  generation: number;
  state: DeviceStateValue;
  features: FeatureSet;
  queues: ControlQueue[];
  /**
   * A queue broke (or its backend died) since the last reset: queues the
   * driver set up before that are stale, and a backend that starts now
   * must not serve them (it waits for the driver's reset and DRIVER_OK).
   */
  needsReset: boolean;
}

const TWO_32 = 4294967296;
const HEADER_BYTES = DEVICE_CONTROL.queues * 4;

function bytesFor(nrQueues: number): number {
  return HEADER_BYTES + nrQueues * QUEUE_CONTROL_STRIDE * 4 + MAX_CONTROL_CONFIG;
}

export class DeviceControl {
  declare readonly buffer: SharedArrayBuffer;
  declare readonly nrQueues: number;
  declare private readonly w: Int32Array;

  /** A blank block for a device of `nrQueues` queues (postMessage `buffer` to each side). */
  static create(nrQueues: number): DeviceControl {
    if (!Number.isInteger(nrQueues) || nrQueues < 1 || nrQueues > MAX_CONTROL_QUEUES)
      throw new RangeError(`${nrQueues} queues: a device has 1..${MAX_CONTROL_QUEUES}`);
    const sab = new SharedArrayBuffer(bytesFor(nrQueues));
    new Int32Array(sab)[DEVICE_CONTROL.nr_queues] = nrQueues;
    return new DeviceControl(sab);
  }

  constructor(buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < bytesFor(1))
      throw new TypeError('a device control block needs its SharedArrayBuffer');
    this.buffer = buffer;
    this.w = new Int32Array(buffer);
    const n = this.w[DEVICE_CONTROL.nr_queues];
    if (!(n >= 1 && n <= MAX_CONTROL_QUEUES) || buffer.byteLength < bytesFor(n))
      throw new RangeError(`device control block of ${buffer.byteLength} bytes for ${n} queues`);
    this.nrQueues = n;
  }

  private q(index: number, field: number): number {
    return DEVICE_CONTROL.queues + index * QUEUE_CONTROL_STRIDE + field;
  }

  // ---- toolstack ----

  /** Write what the device offers (once, before the model and backends start). */
  describe(d: DeviceDescription): void {
    const w = this.w;
    if (d.queueMaxSizes.length !== this.nrQueues)
      throw new RangeError(`${d.queueMaxSizes.length} queue sizes for ${this.nrQueues} queues`);
    if (d.config.length > MAX_CONTROL_CONFIG)
      throw new RangeError(`config space of ${d.config.length} bytes > ${MAX_CONTROL_CONFIG}`);
    w[DEVICE_CONTROL.device_id] = d.deviceId;
    w[DEVICE_CONTROL.offered_lo] = featureWord(d.features, 0);
    w[DEVICE_CONTROL.offered_hi] = featureWord(d.features, 1);
    d.queueMaxSizes.forEach((m, i) => {
      w[this.q(i, QUEUE_CONTROL.max_size)] = m;
    });
    w[DEVICE_CONTROL.config_len] = d.config.length;
    new Uint8Array(this.buffer, this.configOffset(), d.config.length).set(d.config);
  }

  description(): DeviceDescription {
    const w = this.w;
    const len = w[DEVICE_CONTROL.config_len];
    return {
      deviceId: w[DEVICE_CONTROL.device_id],
      features: featuresFromHalves(w[DEVICE_CONTROL.offered_lo], w[DEVICE_CONTROL.offered_hi]),
      queueMaxSizes: Array.from({ length: this.nrQueues }, (_, i) =>
        Atomics.load(w, this.q(i, QUEUE_CONTROL.max_size)),
      ),
      config: new Uint8Array(this.buffer, this.configOffset(), len).slice(),
    };
  }

  /**
   * Change config space after describe() (the toolstack; e.g. virtio-net's
   * link status): same length, then config_seq moves. The register model
   * applies it (ConfigGeneration, the config interrupt bit) on the driver's
   * next register access; backends look at configSeq when they care.
   */
  setConfig(config: Uint8Array): void {
    const len = this.w[DEVICE_CONTROL.config_len];
    if (config.length !== len)
      throw new RangeError(`config space of ${config.length} bytes, the device has ${len}`);
    new Uint8Array(this.buffer, this.configOffset(), len).set(config);
    Atomics.add(this.w, DEVICE_CONTROL.config_seq, 1);
  }

  /** How many times setConfig() ran (one load). */
  get configSeq(): number {
    return Atomics.load(this.w, DEVICE_CONTROL.config_seq);
  }

  /** Config space as it is now (a copy). */
  config(): Uint8Array {
    const len = this.w[DEVICE_CONTROL.config_len];
    return new Uint8Array(this.buffer, this.configOffset(), len).slice();
  }

  private configOffset(): number {
    return HEADER_BYTES + this.nrQueues * QUEUE_CONTROL_STRIDE * 4;
  }

  /** Ask every backend of this device to stop (then ring their doorbells). */
  requestStop(): void {
    Atomics.store(this.w, DEVICE_CONTROL.stop, 1);
  }

  get stopRequested(): boolean {
    return Atomics.load(this.w, DEVICE_CONTROL.stop) !== 0;
  }

  /** Before fresh backends start on this block again (restart): clear stop. */
  clearStop(): void {
    Atomics.store(this.w, DEVICE_CONTROL.stop, 0);
  }

  /** Queue `index`'s backend is gone: the device needs a reset and cannot come back without one. */
  setBackendDown(index: number): void {
    Atomics.or(this.w, DEVICE_CONTROL.backend_down, 1 << index);
    this.setNeedsReset(index);
  }

  /** Fresh backends serve every queue again (they bind at the driver's next DRIVER_OK). */
  clearBackendDown(): void {
    Atomics.store(this.w, DEVICE_CONTROL.backend_down, 0);
  }

  /** Bit q: queue q has no backend (setBackendDown). */
  get backendDown(): number {
    return Atomics.load(this.w, DEVICE_CONTROL.backend_down);
  }

  // ---- register model ----

  /**
   * Publish a state change; backends see it at their next pass (ring their
   * doorbells to make that now). Queues not listed are not ready. Reset
   * also clears needs_reset: the driver has done what it asked.
   */
  publish(state: DeviceStateValue, features: FeatureSet, queues: readonly ControlQueue[]): number {
    const w = this.w;
    const g = Atomics.load(w, DEVICE_CONTROL.generation);
    Atomics.store(w, DEVICE_CONTROL.generation, (g | 1) >>> 0); // odd: writing
    Atomics.store(w, DEVICE_CONTROL.state, state);
    Atomics.store(w, DEVICE_CONTROL.features_lo, featureWord(features, 0));
    Atomics.store(w, DEVICE_CONTROL.features_hi, featureWord(features, 1));
    for (let i = 0; i < this.nrQueues; i++) {
      const q = queues.find((x) => x.index === i);
      const put = (f: number, v: number) => Atomics.store(w, this.q(i, f), v);
      put(QUEUE_CONTROL.ready, q?.ready ? 1 : 0);
      put(QUEUE_CONTROL.size, q?.size ?? 0);
      const addrs: [number, number][] = [
        [QUEUE_CONTROL.desc_lo, q?.desc ?? 0],
        [QUEUE_CONTROL.avail_lo, q?.avail ?? 0],
        [QUEUE_CONTROL.used_lo, q?.used ?? 0],
      ];
      for (const [f, a] of addrs) {
        put(f, a % TWO_32);
        put(f + 1, Math.floor(a / TWO_32));
      }
    }
    if (state === DEVICE_STATE.reset) Atomics.store(w, DEVICE_CONTROL.needs_reset, 0);
    const next = ((g | 1) + 1) >>> 0; // even again, and never the old value
    Atomics.store(w, DEVICE_CONTROL.generation, next);
    return next;
  }

  /** Did a backend report a broken queue since the last reset? */
  get needsReset(): boolean {
    return Atomics.load(this.w, DEVICE_CONTROL.needs_reset) !== 0;
  }

  /** Have the backends of every listed queue applied the current generation? */
  applied(queues: readonly number[]): boolean {
    const g = Atomics.load(this.w, DEVICE_CONTROL.generation);
    return queues.every((i) => Atomics.load(this.w, this.q(i, QUEUE_CONTROL.applied)) === g);
  }

  // ---- backend ----

  /** The current generation: one load, for a backend's per-pass check. */
  get generation(): number {
    return Atomics.load(this.w, DEVICE_CONTROL.generation);
  }

  /** A consistent copy of the published state (retries while the model writes). */
  snapshot(): DeviceControlSnapshot {
    const w = this.w;
    for (;;) {
      const g = Atomics.load(w, DEVICE_CONTROL.generation);
      if ((g & 1) !== 0) continue;
      const raw = Atomics.load(w, DEVICE_CONTROL.state);
      const features = featuresFromHalves(
        Atomics.load(w, DEVICE_CONTROL.features_lo),
        Atomics.load(w, DEVICE_CONTROL.features_hi),
      );
      const queues: ControlQueue[] = [];
      for (let i = 0; i < this.nrQueues; i++) {
        const get = (f: number) => Atomics.load(w, this.q(i, f));
        const addr = (f: number) => (get(f + 1) >>> 0) * TWO_32 + (get(f) >>> 0);
        queues.push({
          index: i,
          ready: get(QUEUE_CONTROL.ready) !== 0,
          size: get(QUEUE_CONTROL.size) >>> 0,
          desc: addr(QUEUE_CONTROL.desc_lo),
          avail: addr(QUEUE_CONTROL.avail_lo),
          used: addr(QUEUE_CONTROL.used_lo),
        });
      }
      // Read under the seqlock: publish(reset) clears it while the generation is odd.
      const needsReset = Atomics.load(w, DEVICE_CONTROL.needs_reset) !== 0;
      if (Atomics.load(w, DEVICE_CONTROL.generation) !== g) continue;
      const state = (
        raw === DEVICE_STATE.running || raw === DEVICE_STATE.failed ? raw : DEVICE_STATE.reset
      ) as DeviceStateValue;
      return { generation: g, state, features, queues, needsReset };
    }
  }

  /** The backend of queue `index` has acted on `generation`. */
  ack(index: number, generation: number): void {
    Atomics.store(this.w, this.q(index, QUEUE_CONTROL.applied), generation);
  }

  /** Queue `index` is broken: the device needs a reset (the model shows DEVICE_NEEDS_RESET). */
  setNeedsReset(index: number): void {
    Atomics.or(this.w, DEVICE_CONTROL.needs_reset, 1 << index);
  }
}
