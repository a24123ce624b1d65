// One guest NIC as a net backend holds it: its receive queue and its
// transmit queue (two VirtqueueBackends over the same control block), the
// features its driver acked, and its counters. The switch holds one per
// attached domain; a wire backend holds one.
import {
  type DeviceQueue,
  decodeNetConfig,
  type FeatureSet,
  type GuestMemory,
  hasNetFeature,
  QUEUE_COUNTER,
  VirtioNetStatus,
  VirtqueueError,
} from '@pvkit/virtio-ring';
import { VirtqueueBackend } from '../virtio/queue-backend.ts';
import type { VirtqueueWorkerData } from '../virtio/worker-data.ts';
import { NET_COUNTER, NET_COUNTER_NAMES, NET_RX_QUEUE, NET_TX_QUEUE } from './counters.ts';

/** Queue 0's doorbell and event port; the tx queue uses the next of each. */
export type NetPortData = Omit<VirtqueueWorkerData, 'queue'>;

/** popTx(): the driver broke the tx queue. */
export const BROKEN = -2;

export class NetPort {
  declare readonly id: number;
  declare readonly name: string;
  declare readonly rx: VirtqueueBackend;
  declare readonly tx: VirtqueueBackend;
  declare readonly mem: GuestMemory;
  declare readonly u8: Uint8Array;
  /** Live queues (null until DRIVER_OK, after a reset, or once broken). */
  rxq: DeviceQueue | null = null;
  txq: DeviceQueue | null = null;
  /** What the driver acked, as of the last DRIVER_OK. */
  features: FeatureSet = 0n;
  mergeable = false;
  guestCsum = false;
  /** The driver acked CSUM: it may send NEEDS_CSUM. */
  csum = false;
  /** Why the last refused tx frame was refused. */
  lastTxError: string | null = null;
  /** Used rx entries pushed but not yet published. */
  rxUnpublished = false;
  /**
   * Switch backpressure: the tx chain (head) held back because its receiver
   * had no rx buffer, the receiving port's id, and since when (ms); -1: none.
   */
  heldHead = -1;
  heldFor = -1;
  heldSince = 0;
  /** This guest let a held frame wait too long: frames for it are dropped until it refills. */
  stalled = false;
  /** VIRTIO_NET_S_LINK_UP of the device's config status (the toolstack's setLink), and its config_seq. */
  linkUp = true;
  private configSeq = -1;
  /** The shared counters (Float64Array) and where this NIC's net slots start. */
  declare readonly c: Float64Array;
  declare readonly nb: number;

  constructor(id: number, name: string, data: NetPortData) {
    this.id = id;
    this.name = name;
    this.rx = new VirtqueueBackend({ ...data, queue: NET_RX_QUEUE });
    this.tx = new VirtqueueBackend({
      ...data,
      queue: NET_TX_QUEUE,
      doorbell: data.doorbell + NET_TX_QUEUE,
      evtchn: data.evtchn + NET_TX_QUEUE,
    });
    // One GuestMemory for both queues: they index the same views.
    this.mem = this.rx.mem;
    this.u8 = this.mem.u8;
    this.c = this.rx.counters.f64;
    if (this.rx.counters.deviceSlots < NET_COUNTER_NAMES.length)
      throw new RangeError('the device counters have no room for the net counters');
    this.nb = this.rx.counters.deviceBase(NET_TX_QUEUE);
  }

  get stopRequested(): boolean {
    return this.rx.stopRequested;
  }

  /** Act on the control block when it moved (three loads when it did not). */
  sync(): void {
    const seq = this.rx.control.configSeq;
    if (seq !== this.configSeq) {
      this.configSeq = seq;
      const { status } = decodeNetConfig(this.rx.control.config());
      this.linkUp = (status & VirtioNetStatus.LINK_UP) !== 0;
    }
    if (this.rx.controlChanged) {
      this.rx.sync();
      this.rxq = this.rx.queue;
      this.rxUnpublished = false;
      // Refills are looked at when a frame comes: no kick is ever needed.
      this.rxq?.disableNotifications();
    }
    if (this.tx.controlChanged) {
      this.heldHead = -1;
      this.tx.sync();
      this.txq = this.tx.queue;
      this.features = this.tx.features;
      this.mergeable = hasNetFeature(this.features, 'MRG_RXBUF');
      this.guestCsum = hasNetFeature(this.features, 'GUEST_CSUM');
      this.csum = hasNetFeature(this.features, 'CSUM');
    }
  }

  /** The driver broke a queue: stop using it (the device now needs a reset). */
  breakRx(e: unknown): void {
    this.rx.breakQueue(e);
    this.rxq = null;
    this.rxUnpublished = false;
  }

  breakTx(e: unknown): void {
    this.heldHead = -1;
    this.tx.breakQueue(e);
    this.txq = null;
  }

  /**
   * The next tx chain (its head; the chain itself is in `q.chain`), -1 when
   * the ring is empty, or BROKEN when the driver broke the queue: what was
   * completed before is published, and the queue is dropped until a reset.
   */
  popTx(q: DeviceQueue): number {
    try {
      return q.popHead();
    } catch (e) {
      if (!(e instanceof VirtqueueError)) throw e;
      this.tx.publish(q);
      this.breakTx(e);
      return BROKEN;
    }
  }

  /** Make filled rx buffers visible and interrupt the guest if it asked. */
  publishRx(): void {
    const q = this.rxq;
    this.rxUnpublished = false;
    if (q !== null) this.rx.publish(q);
  }

  count(slot: number, n = 1): void {
    this.c[this.nb + slot] += n;
  }

  /** Read one net counter (tests, stats). */
  counter(name: keyof typeof NET_COUNTER): number {
    return this.c[this.nb + NET_COUNTER[name]];
  }

  /** Count a sleep of the backend on this NIC's tx doorbell. */
  countSleep(): void {
    this.c[this.tx.counters.queueBase(NET_TX_QUEUE) + QUEUE_COUNTER.sleeps]++;
  }

  flushCounters(): void {
    this.rx.flushCounters();
    this.tx.flushCounters();
  }
}
