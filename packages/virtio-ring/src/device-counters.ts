// Per-queue counters of a device, in a SharedArrayBuffer a VMM reads with no
// message (like the hypervisor's own counters): each queue's backend is the
// only writer of its section, so a reader gets racy but never torn values
// (aligned f64 stores). A section holds the generic queue counters, then the
// device type's own (blk: requests by type, bytes, errors by cause).

/** Generic slots of one queue's section. */
export const QUEUE_COUNTER = {
  /** Doorbell rings seen (the doorbell's ring count: guest kicks, plus control rings). */
  kicks: 0,
  /** Event-channel raises into the guest (interruptNeeded() said yes). */
  interrupts: 1,
  /** Chains completed. */
  chains: 2,
  /** Chains the ring found malformed (completed with len 0). */
  malformed: 3,
  /** Sum of used.len: bytes the device wrote into guest buffers. */
  bytes: 4,
  /** Times the backend slept in Atomics.wait. */
  sleeps: 5,
  /** The queue broke (DEVICE_NEEDS_RESET) this many times. */
  broken: 6,
} as const;
export const QUEUE_COUNTER_SLOTS = 8;

const HEADER_SLOTS = 2; // [nrQueues, deviceSlots]

export class DeviceCounters {
  declare readonly buffer: SharedArrayBuffer;
  declare readonly nrQueues: number;
  /** Device-specific slots per queue. */
  declare readonly deviceSlots: number;
  declare readonly f64: Float64Array;

  static create(nrQueues: number, deviceSlots = 0): DeviceCounters {
    if (!Number.isInteger(nrQueues) || nrQueues < 1) throw new RangeError(`${nrQueues} queues`);
    if (!Number.isInteger(deviceSlots) || deviceSlots < 0)
      throw new RangeError(`${deviceSlots} device counter slots`);
    const n = HEADER_SLOTS + nrQueues * (QUEUE_COUNTER_SLOTS + deviceSlots);
    const sab = new SharedArrayBuffer(n * 8);
    const f = new Float64Array(sab);
    f[0] = nrQueues;
    f[1] = deviceSlots;
    return new DeviceCounters(sab);
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.f64 = new Float64Array(buffer);
    this.nrQueues = this.f64[0];
    this.deviceSlots = this.f64[1];
    const need = HEADER_SLOTS + this.nrQueues * (QUEUE_COUNTER_SLOTS + this.deviceSlots);
    if (!(this.nrQueues >= 1) || this.f64.length < need)
      throw new RangeError('not a device counters buffer');
  }

  /** f64 index of queue `q`'s generic section (add QUEUE_COUNTER.*). */
  queueBase(q: number): number {
    return HEADER_SLOTS + q * (QUEUE_COUNTER_SLOTS + this.deviceSlots);
  }

  /** f64 index of queue `q`'s device-specific section. */
  deviceBase(q: number): number {
    return this.queueBase(q) + QUEUE_COUNTER_SLOTS;
  }

  /** Generic counter `slot` (QUEUE_COUNTER.*) summed over queues, or of one queue. */
  queueTotal(slot: number, q?: number): number {
    if (q !== undefined) return this.f64[this.queueBase(q) + slot];
    let s = 0;
    for (let i = 0; i < this.nrQueues; i++) s += this.f64[this.queueBase(i) + slot];
    return s;
  }

  /** Device-specific slot summed over every queue. */
  deviceTotal(slot: number): number {
    let s = 0;
    for (let i = 0; i < this.nrQueues; i++) s += this.f64[this.deviceBase(i) + slot];
    return s;
  }

  /** Every generic counter by name, summed over queues (for stats output). */
  totals(): Record<keyof typeof QUEUE_COUNTER, number> {
    const out = {} as Record<keyof typeof QUEUE_COUNTER, number>;
    for (const [name, slot] of Object.entries(QUEUE_COUNTER))
      out[name as keyof typeof QUEUE_COUNTER] = this.queueTotal(slot);
    return out;
  }
}
