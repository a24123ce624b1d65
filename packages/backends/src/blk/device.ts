// What this backend tells the guest about a disk: its blk feature bits and
// its config space. The limits are pvkit's policy (not wire facts), so they
// live here; the executor enforces exactly what the config advertises.
import {
  BLK_SECTOR_SIZE,
  type BlkConfig,
  BlkFeature,
  blankBlkConfig,
  blkFeatureMask,
} from '@pvkit/virtio-ring';
import { capacityOf } from './image.ts';

export interface BlkLimits {
  /** Largest single data segment, bytes (SIZE_MAX). */
  sizeMax: number;
  /** Sectors per DISCARD / WRITE_ZEROES segment. A segment is zero-filled synchronously, so this bounds how long one request holds its queue. */
  maxDiscardSectors: number;
  maxDiscardSeg: number;
  maxWriteZeroesSectors: number;
  maxWriteZeroesSeg: number;
  /** Hint for the driver's discard granularity, sectors. */
  discardSectorAlignment: number;
}

export const DEFAULT_BLK_LIMITS: BlkLimits = {
  sizeMax: 1024 * 1024,
  maxDiscardSectors: 32768,
  maxDiscardSeg: 8,
  maxWriteZeroesSectors: 32768,
  maxWriteZeroesSeg: 8,
  discardSectorAlignment: 8,
};

/**
 * The blk-specific feature bits to offer (the transport adds VERSION_1,
 * EVENT_IDX and INDIRECT_DESC). FLUSH always (spec: SHOULD); RO, and no
 * DISCARD / WRITE_ZEROES, on a read-only disk; MQ only with several queues.
 */
export function blkDeviceFeatures(disk: { readOnly: boolean; queues: number }): bigint {
  const bits: number[] = [
    BlkFeature.SIZE_MAX,
    BlkFeature.SEG_MAX,
    BlkFeature.BLK_SIZE,
    BlkFeature.FLUSH,
  ];
  if (disk.readOnly) bits.push(BlkFeature.RO);
  else bits.push(BlkFeature.DISCARD, BlkFeature.WRITE_ZEROES);
  if (disk.queues > 1) bits.push(BlkFeature.MQ);
  return bits.reduce((acc, b) => acc | blkFeatureMask(b), 0n);
}

/**
 * The config space for a disk served through queues of `queueSize`
 * descriptors. seg_max is queueSize - 2 (header and status take one
 * descriptor each: the Linux / QEMU convention; an indirect table is held
 * to the same length).
 */
export function blkDeviceConfig(
  disk: { sizeBytes: number; queues: number },
  queueSize: number,
  limits: BlkLimits = DEFAULT_BLK_LIMITS,
): BlkConfig {
  if (!Number.isInteger(queueSize) || queueSize < 3) {
    throw new RangeError(`queue size ${queueSize} leaves no descriptor for data (need >= 3)`);
  }
  return {
    ...blankBlkConfig(capacityOf(disk.sizeBytes)),
    sizeMax: limits.sizeMax,
    segMax: queueSize - 2,
    blkSize: BLK_SECTOR_SIZE,
    numQueues: disk.queues,
    maxDiscardSectors: limits.maxDiscardSectors,
    maxDiscardSeg: limits.maxDiscardSeg,
    discardSectorAlignment: limits.discardSectorAlignment,
    maxWriteZeroesSectors: limits.maxWriteZeroesSectors,
    maxWriteZeroesSeg: limits.maxWriteZeroesSeg,
    // Zero-filling never deallocates (raw-image.ts), so say so (spec: SHOULD).
    writeZeroesMayUnmap: 0,
  };
}
