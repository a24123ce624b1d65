// One virtqueue as a backend worker holds it: the device half of the ring
// (built when the driver says DRIVER_OK, dropped on reset, FAILED or stop),
// the queue's doorbell, its event port, and its counters. serveQueue()
// (./serve.ts) is the standard loop over it; a device whose work does not
// start with a kick (virtio-net receive) can drive these pieces itself.
import { raiseEvent } from '@pvkit/hypercall';
import {
  DEVICE_STATE,
  DeviceControl,
  DeviceCounters,
  DeviceQueue,
  DOORBELL_STRIDE,
  Doorbell,
  type FeatureSet,
  GuestMemory,
  HaltPoll,
  QUEUE_COUNTER,
  queueFeatures,
  ringIndices,
  VirtqueueError,
} from '@pvkit/virtio-ring';
import {
  DEFAULT_BACKEND_SPIN_US,
  DEFAULT_IDLE_WAIT_MS,
  type VirtqueueWorkerData,
} from './worker-data.ts';

/** What the control block said, as it matters to this queue. */
export type QueueChange =
  /** The queue is live: `features` are the negotiated ones. */
  | { kind: 'started'; queue: DeviceQueue; features: FeatureSet }
  /** The queue is gone (reset, FAILED, not ready, or its GPAs were bad). */
  | { kind: 'stopped'; reason: string };

export class VirtqueueBackend {
  declare readonly index: number;
  declare readonly mem: GuestMemory;
  declare readonly control: DeviceControl;
  declare readonly counters: DeviceCounters;
  declare readonly bell: Doorbell;
  /** The live queue, or null when the driver has not (or no longer) set it up. */
  queue: DeviceQueue | null = null;
  features: FeatureSet = 0n;
  /** How long to poll the doorbell before sleeping, learned (KVM halt polling). */
  declare readonly poll: HaltPoll;
  declare readonly idleWaitMs: number;
  declare private readonly guest: Int32Array;
  declare private readonly port: number;
  declare private readonly c: Float64Array;
  declare private readonly base: number;
  private generation = -1;
  /** u16 indices of the live queue's used_event and used.idx (-1: no EVENT_IDX). */
  private usedEventAt = -1;
  private usedIdxAt = 0;
  private availIdxAt = 0;
  private readonly kicked = (): boolean => this.bell.poll();
  /** Moves while the driver works: it publishes (avail.idx) or reclaims (used_event). */
  private readonly driverProgress = (): number =>
    Atomics.load(this.mem.u16, this.availIdxAt) + Atomics.load(this.mem.u16, this.usedEventAt);

  constructor(data: VirtqueueWorkerData) {
    this.index = data.queue;
    this.mem = new GuestMemory(data.wasmMemory ?? data.memory);
    this.guest = new Int32Array(data.memory);
    this.control = new DeviceControl(data.control);
    this.counters = new DeviceCounters(data.counters);
    this.bell = new Doorbell(new Int32Array(data.doorbells), data.doorbell * DOORBELL_STRIDE);
    this.port = data.evtchn;
    this.c = this.counters.f64;
    this.base = this.counters.queueBase(data.queue);
    this.poll = new HaltPoll({ maxUs: data.spinUs ?? DEFAULT_BACKEND_SPIN_US });
    this.idleWaitMs = data.idleWaitMs ?? DEFAULT_IDLE_WAIT_MS;
  }

  get stopRequested(): boolean {
    return this.control.stopRequested;
  }

  /** Has the model published something this queue has not acted on? (one load) */
  get controlChanged(): boolean {
    return this.control.generation !== this.generation;
  }

  /**
   * Act on the control block: (re)build or drop the queue. Every GPA is
   * checked against guest memory by DeviceQueue; bad ones break the queue
   * (DEVICE_NEEDS_RESET) instead of reaching the handler.
   */
  sync(): QueueChange | null {
    const snap = this.control.snapshot();
    this.generation = snap.generation;
    const had = this.queue !== null;
    this.queue = null;
    let change: QueueChange | null = had ? { kind: 'stopped', reason: 'reset' } : null;
    const q = snap.queues[this.index];
    // Queues set up before a break (or before this backend replaced a dead
    // one) are stale: serve nothing until the driver resets and sets DRIVER_OK.
    if (snap.state === DEVICE_STATE.running && q?.ready && !snap.needsReset) {
      try {
        const { eventIdx, indirect } = queueFeatures(snap.features);
        const max = this.control.description().queueMaxSizes[this.index];
        this.queue = new DeviceQueue(this.mem, q, { eventIdx, indirect, maxSize: max });
        const ix = ringIndices(this.mem, q);
        this.usedEventAt = eventIdx ? ix.usedEvent : -1;
        this.usedIdxAt = ix.usedIdx;
        this.availIdxAt = ix.availIdx;
        this.features = snap.features;
        change = { kind: 'started', queue: this.queue, features: snap.features };
      } catch (e) {
        this.breakQueue(e);
        change = { kind: 'stopped', reason: e instanceof Error ? e.message : String(e) };
      }
    }
    this.control.ack(this.index, snap.generation);
    return change;
  }

  /** The driver broke the queue: stop using it and ask for a reset (the guest is told by an event). */
  breakQueue(e: unknown): void {
    if (!(e instanceof VirtqueueError)) throw e;
    this.queue = null;
    this.c[this.base + QUEUE_COUNTER.broken]++;
    this.control.setNeedsReset(this.index);
    this.raise();
  }

  /** Publish what was pushed and interrupt the guest if it asked (EVENT_IDX or flags). */
  publish(q: DeviceQueue): void {
    q.publish();
    if (q.interruptNeeded()) this.raise();
  }

  /** Raise this queue's event channel (the one raise function of @pvkit/hypercall). */
  raise(): void {
    raiseEvent(this.guest, this.port);
    this.c[this.base + QUEUE_COUNTER.interrupts]++;
  }

  /** Count one completed chain. */
  count(len: number, malformed: boolean): void {
    const c = this.c;
    const b = this.base;
    c[b + QUEUE_COUNTER.chains]++;
    c[b + QUEUE_COUNTER.bytes] += len;
    if (malformed) c[b + QUEUE_COUNTER.malformed]++;
  }

  /**
   * Wait for a kick: poll the doorbell for the learned window (not at all
   * while the driver is behind, and no longer once it stops moving), then
   * sleep up to idleWaitMs. Call only after the queue's enableNotifications()
   * said the ring is empty. True if the doorbell rang.
   */
  waitForKick(): boolean {
    if (!this.driverBehind() && this.poll.poll(this.kicked, this.driverProgress)) return true;
    const t0 = performance.now();
    const rang = this.sleep();
    this.poll.slept((performance.now() - t0) * 1000);
    return rang;
  }

  /**
   * Has the driver not yet taken back everything we completed (its
   * used_event, EVENT_IDX, is behind used.idx)? Then it is not running: it
   * sleeps, or waits for a CPU this thread may be holding. It must run before
   * it can kick again, so polling would only keep it off the CPU: sleep.
   */
  private driverBehind(): boolean {
    if (this.usedEventAt < 0) return false;
    const u16 = this.mem.u16;
    return Atomics.load(u16, this.usedEventAt) !== Atomics.load(u16, this.usedIdxAt);
  }

  /** Sleep on the doorbell (up to idleWaitMs) without polling first: the queue is not live. */
  sleep(): boolean {
    this.flushCounters();
    this.c[this.base + QUEUE_COUNTER.sleeps]++;
    return this.bell.wait(0, this.idleWaitMs);
  }

  /** Mirror what only this thread knows into the shared counters. */
  flushCounters(): void {
    this.c[this.base + QUEUE_COUNTER.kicks] = Atomics.load(this.bell.words, this.bell.index);
  }
}
