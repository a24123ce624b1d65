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
} from '@pvkit/virtio-ring';
import { addBlockDevice } from '../../block/devices.ts';
import type { BlockDriver, BlockLimits, HwRequest } from '../../block/types.ts';
import type { Driver } from '../../devices.ts';
import type { Kernel } from '../../kernel.ts';
import { BUSY } from '../../sched.ts';
import type { DeviceInfo } from '../../start-info.ts';
import { deviceNeedsReset, probeVirtio, readDeviceConfig } from '../virtio/device.ts';
import type { MmioRegisters } from '../virtio/mmio.ts';
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

export class VirtioBlk implements BlockDriver {
  readonly name: string;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  serial = '';
  readonly nrQueues: number;
  readonly limits: BlockLimits;
  readonly features: FeatureSet;
  onComplete: (() => void) | null = null;
  readonly queues: BlkHwQueue[];
  private readonly regs: MmioRegisters;

  constructor(kernel: Kernel, dev: DeviceInfo) {
    this.name = `vd${String.fromCharCode(97 + (dev.id % 26))}`;
    const { regs, features, queues } = probeVirtio<number>(kernel, dev, {
      deviceId: VIRTIO_ID_BLOCK,
      wanted: BLK_DRIVER_FEATURES,
      queueCount: (f, table, r) =>
        has(f, BlkFeature.MQ) ? Math.min(table, Math.max(1, readConfig(r).numQueues)) : 1,
      queueSize: QUEUE_SIZE,
      indirectEntries: INDIRECT_ENTRIES,
    });
    this.regs = regs;
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
    this.queues = queues.map((vq) => new BlkHwQueue(kernel, vq));
    for (const q of this.queues) q.vq.onInterrupt(kernel, () => this.interrupt(q));
    // Requests in flight: an interrupt will come (wait without a trap); and
    // if no queue's device had to be woken, it is running: poll for it first.
    kernel.sched.addBusyHint(
      () => {
        let expect: number = BUSY.none;
        for (const q of this.queues) {
          if (q.vq.ring.outstanding === 0) continue;
          if (q.vq.waking) expect = BUSY.event;
          else return BUSY.soon;
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

  room(q: number): number {
    return this.queues[q].room();
  }

  queueRq(q: number, rq: HwRequest): boolean {
    if (rq.op === 'flush' && !this.limits.flush) {
      rq.done(null); // no volatile cache offered: every completed write is stable already
      return true;
    }
    return this.queues[q].add(rq);
  }

  private interrupt(q: BlkHwQueue): void {
    // An event with nothing to reap is how a broken device speaks: ask Status (a trap).
    if (q.complete() === 0 && q.broken === null && deviceNeedsReset(this.regs))
      for (const hq of this.queues) hq.fail('the device needs a reset (DEVICE_NEEDS_RESET)');
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
