// The virtio-blk driver (Linux drivers/block/virtio_blk.c, reduced): probe
// the device, negotiate what both sides have, read the limits from config
// space, ask the serial (GET_ID), and hand the disk to the block layer as
// "vda", "vdb", ... Requests go round robin to its queues (MQ); each queue's
// event is its interrupt: completions are reaped there, in the upcall path.
import { DEVICE_TYPE } from '@pvkit/hypercall';
import {
  BLK_CONFIG_SIZE,
  BLK_SECTOR_SIZE,
  BlkFeature,
  blkFeatureMask,
  decodeBlkConfig,
  type FeatureSet,
  RING_FEATURES,
  VIRTIO_ID_BLOCK,
  VIRTIO_MMIO,
  VIRTIO_STATUS,
} from '@pvkit/virtio-ring';
import { addBlockDevice } from '../../block/devices.ts';
import {
  type BlockDriver,
  BlockError,
  type BlockLimits,
  type HwRequest,
} from '../../block/types.ts';
import type { Driver } from '../../devices.ts';
import type { Kernel } from '../../kernel.ts';
import { BUSY } from '../../sched.ts';
import type { DeviceInfo } from '../../start-info.ts';
import { probeVirtio, readDeviceConfig, type VirtioDevice } from '../virtio/device.ts';
import type { MmioRegisters } from '../virtio/mmio.ts';
import { VirtioRecovery } from '../virtio/recovery.ts';
import { freeQueueMemory, type Virtqueue } from '../virtio/virtqueue.ts';
import { BlkHwQueue } from './hw-queue.ts';

/** Entries per queue we ask for (clamped to QueueNumMax). */
const QUEUE_SIZE = 256;
/**
 * With this many requests in flight a queue asks for its interrupt only
 * after 3/4 of them completed (Virtqueue.delayInterrupt): one guest wake-up
 * per batch. Measured on the shared 2-CPU host: better at qd 32 (4 KiB),
 * worse at qd 8 (128 KiB), where the queue runs dry while the guest wakes.
 */
const DELAY_FROM = 16;
/** Descriptors per indirect table: header, data, status fit in one ring slot. */
const INDIRECT_ENTRIES = 8;

const readConfig = (regs: MmioRegisters) =>
  decodeBlkConfig(readDeviceConfig(regs, BLK_CONFIG_SIZE));
const has = (f: FeatureSet, bit: number) => (f & blkFeatureMask(bit)) !== 0n;

/** What this driver can use; a device may offer less (only VERSION_1 is required). */
export const BLK_DRIVER_FEATURES: FeatureSet = [
  BlkFeature.SIZE_MAX,
  BlkFeature.SEG_MAX,
  BlkFeature.BLK_SIZE,
  BlkFeature.RO,
  BlkFeature.FLUSH,
  BlkFeature.MQ,
  BlkFeature.DISCARD,
  BlkFeature.WRITE_ZEROES,
].reduce((acc, b) => acc | blkFeatureMask(b), RING_FEATURES);

/**
 * The most a request submitted while the device is down waits for it to
 * come back (kernel command line `blk.downwait=ms`); then it fails.
 */
export const BLK_DOWN_WAIT_MS = 10_000;

function downWaitMs(cmdline: string): number {
  const m = /(?:^|\s)blk\.downwait=(\d+)(?:\s|$)/.exec(cmdline);
  return m ? Number(m[1]) : BLK_DOWN_WAIT_MS;
}

export class VirtioBlk implements BlockDriver {
  declare readonly name: string;
  declare readonly sizeBytes: number;
  declare readonly readOnly: boolean;
  serial = '';
  declare nrQueues: number;
  declare readonly limits: BlockLimits;
  declare features: FeatureSet;
  onComplete: (() => void) | null = null;
  declare queues: BlkHwQueue[];
  /** DEVICE_NEEDS_RESET handling: reset, re-probe (../virtio/recovery.ts). */
  declare readonly recovery: VirtioRecovery;
  /** Down for longer than BLK_DOWN_WAIT_MS: requests fail at once until it is back. */
  private gaveUp: string | null = null;
  declare private readonly kernel: Kernel;
  declare private readonly dev: DeviceInfo;

  constructor(kernel: Kernel, dev: DeviceInfo) {
    this.kernel = kernel;
    this.dev = dev;
    this.name = `vd${String.fromCharCode(97 + (dev.id % 26))}`;
    const { regs, features, queues } = this.probe();
    this.features = features;
    const cfg = readConfig(regs);
    this.sizeBytes = cfg.capacity * BLK_SECTOR_SIZE;
    this.readOnly = has(features, BlkFeature.RO);
    const ringSize = queues[0].ring.size;
    // Without SEG_MAX the device promised nothing: one data segment (as Linux does).
    const segMax = has(features, BlkFeature.SEG_MAX) ? Math.max(1, cfg.segMax) : 1;
    this.limits = {
      maxSegmentBytes: has(features, BlkFeature.SIZE_MAX) ? cfg.sizeMax : 0,
      maxSegments: Math.min(segMax, ringSize - 2),
      maxDiscardSectors: has(features, BlkFeature.DISCARD) ? cfg.maxDiscardSectors : 0,
      maxWriteZeroesSectors: has(features, BlkFeature.WRITE_ZEROES) ? cfg.maxWriteZeroesSectors : 0,
      flush: has(features, BlkFeature.FLUSH),
    };
    this.nrQueues = queues.length;
    this.queues = this.serve(queues);
    this.recovery = new VirtioRecovery(kernel, dev, regs, {
      label: `virtio-blk: ${this.name}`,
      down: (why) => this.down(why),
      release: () => {
        for (const q of this.queues) q.release(kernel);
      },
      reprobe: () => this.reprobe(),
    });
    // Requests in flight: an interrupt will come (wait without a trap); and
    // if no queue's device had to be woken, it is running: poll for it first
    // (BUSY.poll: also in idle=wait). A backend completes a 4 KiB read in
    // ~3 µs and a 128 KiB one in ~12; a sleep and its wake-up cost more, and
    // the backend's Atomics.notify for it more again. Measured on the idle
    // 2-CPU host (BENCHMARKS.md "blk"): rand-read 4k qd32 +45%, seq-write
    // 128k +25%, the others unchanged. The poll is HaltPoll-bounded: it
    // stops when used.idx stands still or this thread was descheduled.
    kernel.sched.addBusyHint(
      () => {
        let expect: number = BUSY.none;
        for (const q of this.queues) {
          if (q.vq.ring.outstanding === 0) continue;
          if (q.vq.waking) expect = BUSY.event;
          else return BUSY.poll;
        }
        return expect;
      },
      () => {
        let n = 0;
        for (const q of this.queues) n += q.vq.deviceProgress();
        return n;
      },
    );
  }

  private probe(): VirtioDevice<number> {
    return probeVirtio<number>(this.kernel, this.dev, {
      deviceId: VIRTIO_ID_BLOCK,
      wanted: BLK_DRIVER_FEATURES,
      queueCount: (f, table, r) =>
        has(f, BlkFeature.MQ) ? Math.min(table, Math.max(1, readConfig(r).numQueues)) : 1,
      queueSize: QUEUE_SIZE,
      indirectEntries: INDIRECT_ENTRIES,
    });
  }

  /** Hardware queues on fresh virtqueues, their interrupts bound. */
  private serve(vqs: Virtqueue<number>[]): BlkHwQueue[] {
    const queues = vqs.map((vq) => new BlkHwQueue(this.kernel, vq));
    for (const q of queues) q.vq.onInterrupt(this.kernel, () => this.interrupt(q));
    return queues;
  }

  /** Fail what is in flight; what is submitted now waits (bounded) for the device. */
  private down(why: string): void {
    for (const q of this.queues) q.fail(why);
    const { time, info } = this.kernel;
    const since = this.recovery.recoveries;
    const ms = downWaitMs(info.cmdline);
    time.add(time.nowNs() + ms * 1e6, () => {
      if (this.recovery.state === 'up' || this.recovery.recoveries !== since) return;
      this.gaveUp = `${this.name} has been down for ${ms} ms (${why}); not waiting for it any more`;
      this.onComplete?.(); // the waiting requests fail now
    });
  }

  /** The init sequence again, on the same limits (a device that changed them stays down). */
  private reprobe(): MmioRegisters {
    const { regs, features, queues } = this.probe();
    const cfg = readConfig(regs);
    const same =
      cfg.capacity * BLK_SECTOR_SIZE === this.sizeBytes &&
      has(features, BlkFeature.RO) === this.readOnly &&
      has(features, BlkFeature.FLUSH) === this.limits.flush &&
      queues[0].ring.size - 2 >= this.limits.maxSegments;
    if (!same) {
      regs.write(VIRTIO_MMIO.STATUS, regs.read(VIRTIO_MMIO.STATUS) | VIRTIO_STATUS.FAILED);
      for (const vq of queues) freeQueueMemory(this.kernel, vq.memory);
      throw new Error('the device came back with other limits');
    }
    this.features = features;
    this.queues = this.serve(queues);
    this.nrQueues = queues.length;
    this.gaveUp = null;
    queueMicrotask(() => this.onComplete?.()); // requests that waited go out now
    return regs;
  }

  room(q: number): number {
    if (this.recovery.state === 'down') return this.gaveUp === null ? 0 : 1;
    return this.queues[q].room();
  }

  queueRq(q: number, rq: HwRequest): boolean {
    if (this.recovery.state === 'down') {
      if (this.gaveUp === null) return false;
      rq.done(new BlockError('device-broken', this.gaveUp));
      return true;
    }
    if (rq.op === 'flush' && !this.limits.flush) {
      rq.done(null); // no volatile cache offered: every completed write is stable already
      return true;
    }
    return this.queues[q].add(rq);
  }

  private interrupt(q: BlkHwQueue): void {
    // An event with nothing to reap is how a broken device speaks: ask Status (a trap).
    if (q.complete() === 0 && q.broken === null) this.recovery.check();
    // A lie in the used ring breaks the queue: the device must be reset too.
    if (q.broken !== null) this.recovery.fail(q.broken);
    this.onComplete?.(); // refill the ring first: the device keeps working meanwhile
    while (q.broken === null && !q.vq.delayInterrupt(DELAY_FROM)) {
      q.complete();
      this.onComplete?.();
    }
  }

  /** GET_ID through queue 0, waiting (parked) for the answer. */
  async readSerial(kernel: Kernel): Promise<string> {
    let serial: string | null = null;
    let resume: (() => void) | null = null;
    const ok = this.queues[0].addGetId((s) => {
      serial = s;
      resume?.();
    });
    if (!ok) return '';
    if (serial === null)
      await kernel.sched.park<void>((r) => {
        resume = r;
      });
    return serial ?? '';
  }
}

export const virtioBlkDriver: Driver = {
  name: 'virtio-blk',
  type: DEVICE_TYPE.blk,
  async probe(dev, kernel) {
    const blk = new VirtioBlk(kernel, dev);
    blk.serial = await blk.readSerial(kernel);
    addBlockDevice(kernel, blk);
    kernel.console.printk(
      `virtio-blk: ${blk.name}: ${blk.sizeBytes / BLK_SECTOR_SIZE} sectors, ${blk.nrQueues} queue(s)` +
        `${blk.readOnly ? ', read-only' : ''}, serial "${blk.serial}"`,
    );
  },
};
