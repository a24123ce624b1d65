// virtio-blk, toolstack side: the "disks" config key. Entries are checked
// with the blk backend's own rules (parseDiskConfig), every disk file of a
// domain is checked (or created) before any worker starts (prepareDisks),
// and each queue of a disk gets its own backend worker (MQ: queues served
// concurrently, each with its own file descriptor).
import { rmSync } from 'node:fs';
import {
  BLK_COUNTER_NAMES,
  blkDeviceConfig,
  blkDeviceFeatures,
  blkWorkerEntry,
  DiskConfigError,
  type PreparedDisk,
  parseDiskConfig,
  parseDiskList,
  prepareDisks,
} from '@pvkit/backends';
import { DEVICE_TYPE } from '@pvkit/hypercall';
import { encodeBlkConfig, RING_FEATURES, VIRTIO_ID_BLOCK } from '@pvkit/virtio-ring';
import { ConfigError } from '../config/schema.ts';
import { registerDeviceBackend } from './registry.ts';
import { attachVirtioBackend } from './virtio-backend.ts';
import { registerVirtioModel } from './virtio-model.ts';

/** QueueNumMax of every blk queue (seg_max follows: 254). */
export const BLK_QUEUE_SIZE = 256;

/** "size: ..." for the schema to prefix with "domain.disks[i]". */
function entryMessage(e: DiskConfigError): string {
  return e.message.replace(/^disks\[\d+\](\.|: )?/, '');
}

registerDeviceBackend({
  key: 'disks',
  deviceType: DEVICE_TYPE.blk,
  validate(entry) {
    try {
      parseDiskConfig(entry);
      return null;
    } catch (e) {
      if (e instanceof DiskConfigError) return entryMessage(e);
      throw e;
    }
  },
  nrQueues: (entry) => (typeof entry.queues === 'number' ? entry.queues : 1),
  notifyByHypercall: (entry) => entry.notify === 'hypercall',
  counterNames: BLK_COUNTER_NAMES,
  prepare(entries, ctx) {
    try {
      return prepareDisks(parseDiskList(entries, { baseDir: ctx.baseDir }));
    } catch (e) {
      if (e instanceof DiskConfigError) throw new ConfigError(`${ctx.domainName}: ${e.message}`);
      throw e;
    }
  },
  release(prepared) {
    const disk = prepared as PreparedDisk;
    if (disk.created) rmSync(disk.path, { force: true });
  },
  attach(ctx) {
    const disk = ctx.prepared as PreparedDisk;
    const config = blkDeviceConfig(disk, BLK_QUEUE_SIZE);
    const queues = Array.from({ length: disk.queues }, (_, q) => q);
    return attachVirtioBackend(ctx, {
      name: `vd${String.fromCharCode(97 + (ctx.index % 26))}`,
      description: {
        deviceId: VIRTIO_ID_BLOCK,
        features: RING_FEATURES | blkDeviceFeatures(disk),
        queueMaxSizes: queues.map(() => BLK_QUEUE_SIZE),
        config: encodeBlkConfig(config),
      },
      entry: blkWorkerEntry(),
      workers: queues.map((queue) => ({ queue, data: { disk, config } })),
      counterSlots: BLK_COUNTER_NAMES.length,
    });
  },
});

registerVirtioModel(DEVICE_TYPE.blk);
