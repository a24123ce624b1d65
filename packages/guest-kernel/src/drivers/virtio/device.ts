// Bringing up a virtio device over the pvkit transport (VIRTIO 1.2 §3.1.1,
// through @pvkit/virtio-ring's initMmioDriver): reset, ACKNOWLEDGE, DRIVER,
// feature negotiation (the accepted set is what both sides have: a device
// offering less is fine unless a required bit is missing), FEATURES_OK,
// queues in the kernel's own pages, DRIVER_OK; then each queue's event
// channel is bound. Any failure sets FAILED and gives the pages back.
import {
  type FeatureSet,
  initMmioDriver,
  queueFeatures,
  VIRTIO_MMIO,
  VIRTIO_STATUS,
} from '@pvkit/virtio-ring';
import type { Kernel } from '../../kernel.ts';
import type { DeviceInfo } from '../../start-info.ts';
import { MmioRegisters } from './mmio.ts';
import { allocQueueMemory, freeQueueMemory, type QueueMemory, Virtqueue } from './virtqueue.ts';

export interface VirtioProbeOptions {
  deviceId: number;
  /** Features the driver can use (transport and device bits). */
  wanted: FeatureSet;
  /** Features it cannot work without (VERSION_1 is always required). */
  required?: FeatureSet;
  /**
   * How many queues to set up, given the negotiated features (at most the
   * table's nr_queues); config space may be read through `regs`.
   */
  queueCount(features: FeatureSet, tableQueues: number, regs: MmioRegisters): number;
  /** Entries per queue: a power of two, at most QueueNumMax (it is clamped to it). */
  queueSize: number;
  /** Descriptors per indirect table (0 or 1: no indirect tables). */
  indirectEntries?: number;
}

export interface VirtioDevice<T> {
  regs: MmioRegisters;
  features: FeatureSet;
  queues: Virtqueue<T>[];
}

export class VirtioProbeError extends Error {
  override name = 'VirtioProbeError';
}

export function probeVirtio<T>(
  kernel: Kernel,
  dev: DeviceInfo,
  opts: VirtioProbeOptions,
): VirtioDevice<T> {
  const regs = new MmioRegisters(kernel.hv, dev.mmio);
  const memories: QueueMemory[] = [];
  const queues: Virtqueue<T>[] = [];
  const result = initMmioDriver(regs, {
    deviceId: opts.deviceId,
    wanted: opts.wanted,
    ...(opts.required !== undefined ? { required: opts.required } : {}),
    setupQueues(features, maxSize) {
      const n = opts.queueCount(features, dev.nrQueues, regs);
      if (!(n >= 1 && n <= dev.nrQueues))
        throw new Error(`${n} queues asked, the device table has ${dev.nrQueues}`);
      const qf = queueFeatures(features);
      const indirect = qf.indirect ? (opts.indirectEntries ?? 0) : 0;
      for (let i = 0; i < n; i++) {
        const max = maxSize(i);
        if (max === 0) throw new Error(`queue ${i} does not exist (QueueNumMax 0)`);
        let size = opts.queueSize;
        while (size > max) size >>>= 1; // QueueNumMax is a power of two too
        const m = allocQueueMemory(kernel, i, size, indirect);
        memories.push(m);
        // Laid out (zeroed) now, before DRIVER_OK lets the backend look at it.
        queues.push(new Virtqueue<T>(kernel, regs, dev, m, qf));
      }
      return memories.map((m) => ({ index: m.index, ...m.addrs }));
    },
  });
  if (!result.ok) {
    for (const m of memories) freeQueueMemory(kernel, m);
    throw new VirtioProbeError(`${result.failure}: ${result.detail}`);
  }
  return { regs, features: result.features, queues };
}

/**
 * Read `len` bytes of device config space, word by word, until
 * ConfigGeneration says nothing changed meanwhile (spec 4.2.2.2).
 */
export function readDeviceConfig(regs: MmioRegisters, len: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(len / 4) * 4);
  const dv = new DataView(out.buffer);
  for (;;) {
    const before = regs.read(VIRTIO_MMIO.CONFIG_GENERATION);
    for (let off = 0; off < out.length; off += 4)
      dv.setUint32(off, regs.read(VIRTIO_MMIO.CONFIG + off), true);
    if (regs.read(VIRTIO_MMIO.CONFIG_GENERATION) === before) return out.subarray(0, len);
  }
}

/** Has the device flagged DEVICE_NEEDS_RESET? (a trap: only on rare events) */
export function deviceNeedsReset(regs: MmioRegisters): boolean {
  return (regs.read(VIRTIO_MMIO.STATUS) & VIRTIO_STATUS.DEVICE_NEEDS_RESET) !== 0;
}
