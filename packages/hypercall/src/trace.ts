// Trace records: one per trap, per multicall entry and per event the
// hypervisor service raises, written by the service into a ring in a
// SharedArrayBuffer (single producer), read by the toolstack (single
// consumer) with no message per record. When the ring is full new records
// are counted as dropped, never written over unread ones.

import { MAX_HYPERCALL_ARGS } from './layout.ts';

/** What a record describes (TRACE_RECORD.kind). */
export const TRACE_KIND = {
  /** A trap: `nr` is the call, timed from pickup to answer. */
  trap: 0,
  /** A multicall entry, run inside its multicall trap (recorded before it; duration 0). */
  entry: 1,
  /** An event the service raised into `domid` (timer, VIRQ, interdomain send): `nr` is
   * the port, `result` the RAISE outcome, duration 0. Device interrupts bypass the
   * service and are counted by their backends instead. */
  event: 2,
} as const;

/** One record, 88 bytes. */
export const TRACE_RECORD = {
  /** f64: the domain's system time (ns) when the trap was picked up. */
  time_ns: 0,
  domid: 8,
  vcpu: 12,
  nr: 16,
  /** Low 32 bits of argument 0 (the sub-op of most calls). */
  arg0: 20,
  /** i32: the result, clamped to the i32 range. */
  result: 24,
  /** u32: ns from pickup to answer (saturates). */
  duration_ns: 28,
  /** u32: TRACE_KIND.* */
  kind: 32,
  /** f64 × MAX_HYPERCALL_ARGS: every argument as the call saw it (0 for events). */
  args: 40,
} as const;
export const TRACE_RECORD_SIZE = TRACE_RECORD.args + 8 * MAX_HYPERCALL_ARGS;

/** Ring header (u32 words), then the records from TRACE_HEADER_SIZE. */
export const TRACE_HEADER = { head: 0, tail: 1, dropped: 2, capacity: 3 } as const;
export const TRACE_HEADER_SIZE = 64;

export interface TraceRecord {
  timeNs: number;
  domid: number;
  vcpu: number;
  nr: number;
  arg0: number;
  result: number;
  durationNs: number;
  kind: number;
  /** MAX_HYPERCALL_ARGS values. */
  args: number[];
}

/** What the producer writes: `kind` defaults to a trap, missing arguments to 0. */
export type TraceInput = Omit<TraceRecord, 'kind' | 'args'> & {
  kind?: number;
  args?: ArrayLike<number>;
};

export class TraceRing {
  declare readonly buffer: SharedArrayBuffer;
  declare private readonly w: Int32Array;
  declare private readonly f: Float64Array;
  declare readonly capacity: number;

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.w = new Int32Array(buffer);
    this.f = new Float64Array(buffer);
    this.capacity = (buffer.byteLength - TRACE_HEADER_SIZE) / TRACE_RECORD_SIZE;
    const c = this.capacity;
    if (!Number.isInteger(c) || c < 1 || (c & (c - 1)) !== 0)
      throw new RangeError(`a trace ring holds a power of two of records (got ${c})`);
  }

  static create(capacity: number): TraceRing {
    const ring = new TraceRing(
      new SharedArrayBuffer(TRACE_HEADER_SIZE + capacity * TRACE_RECORD_SIZE),
    );
    ring.w[TRACE_HEADER.capacity] = capacity;
    return ring;
  }

  /** Producer: append one record; false (and counted) if the ring is full. */
  push(r: TraceInput): boolean {
    const head = Atomics.load(this.w, TRACE_HEADER.head);
    if (((head - Atomics.load(this.w, TRACE_HEADER.tail)) | 0) >= this.capacity) {
      Atomics.add(this.w, TRACE_HEADER.dropped, 1);
      return false;
    }
    const at = this.slot(head);
    const R = TRACE_RECORD;
    this.f[(at + R.time_ns) >>> 3] = r.timeNs;
    this.w[(at + R.domid) >>> 2] = r.domid;
    this.w[(at + R.vcpu) >>> 2] = r.vcpu;
    this.w[(at + R.nr) >>> 2] = r.nr;
    this.w[(at + R.arg0) >>> 2] = r.arg0;
    this.w[(at + R.result) >>> 2] = Math.max(-0x80000000, Math.min(0x7fffffff, r.result));
    this.w[(at + R.duration_ns) >>> 2] = Math.min(
      0xffffffff,
      Math.max(0, Math.round(r.durationNs)),
    );
    this.w[(at + R.kind) >>> 2] = r.kind ?? TRACE_KIND.trap;
    const a = r.args;
    const base = (at + R.args) >>> 3;
    for (let k = 0; k < MAX_HYPERCALL_ARGS; k++)
      this.f[base + k] = a !== undefined && k < a.length ? a[k] : 0;
    Atomics.store(this.w, TRACE_HEADER.head, (head + 1) | 0);
    return true;
  }

  /** Consumer: take every record written since the last drain. */
  drain(): TraceRecord[] {
    const out: TraceRecord[] = [];
    const head = Atomics.load(this.w, TRACE_HEADER.head);
    let tail = Atomics.load(this.w, TRACE_HEADER.tail);
    for (; tail !== head; tail = (tail + 1) | 0) {
      const at = this.slot(tail);
      const R = TRACE_RECORD;
      out.push({
        timeNs: this.f[(at + R.time_ns) >>> 3],
        domid: this.w[(at + R.domid) >>> 2],
        vcpu: this.w[(at + R.vcpu) >>> 2],
        nr: this.w[(at + R.nr) >>> 2],
        arg0: this.w[(at + R.arg0) >>> 2],
        result: this.w[(at + R.result) >>> 2],
        durationNs: this.w[(at + R.duration_ns) >>> 2] >>> 0,
        kind: this.w[(at + R.kind) >>> 2],
        args: Array.from(
          this.f.subarray((at + R.args) >>> 3, (at + R.args) / 8 + MAX_HYPERCALL_ARGS),
        ),
      });
    }
    Atomics.store(this.w, TRACE_HEADER.tail, tail);
    return out;
  }

  /** Byte offset of the record with sequence number seq (a power-of-two ring survives wrap). */
  private slot(seq: number): number {
    return TRACE_HEADER_SIZE + (seq & (this.capacity - 1)) * TRACE_RECORD_SIZE;
  }

  get dropped(): number {
    return Atomics.load(this.w, TRACE_HEADER.dropped);
  }
}
