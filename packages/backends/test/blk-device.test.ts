import { BlkFeature, blkFeatureMask, decodeBlkConfig, encodeBlkConfig } from '@pvkit/virtio-ring';
import { expect, test } from 'vitest';
import { blkDeviceConfig, blkDeviceFeatures, DEFAULT_BLK_LIMITS } from '../src/blk/index.ts';

const has = (features: bigint, bit: number) => (features & blkFeatureMask(bit)) !== 0n;

test('a writable single-queue disk offers FLUSH, DISCARD and WRITE_ZEROES, not RO or MQ', () => {
  const f = blkDeviceFeatures({ readOnly: false, queues: 1 });
  for (const bit of [
    BlkFeature.SIZE_MAX,
    BlkFeature.SEG_MAX,
    BlkFeature.BLK_SIZE,
    BlkFeature.FLUSH,
    BlkFeature.DISCARD,
    BlkFeature.WRITE_ZEROES,
  ]) {
    expect(has(f, bit)).toBe(true);
  }
  expect(has(f, BlkFeature.RO)).toBe(false);
  expect(has(f, BlkFeature.MQ)).toBe(false);
});

test('a read-only disk offers RO and no write-class features; several queues offer MQ', () => {
  const f = blkDeviceFeatures({ readOnly: true, queues: 4 });
  expect(has(f, BlkFeature.RO)).toBe(true);
  expect(has(f, BlkFeature.MQ)).toBe(true);
  expect(has(f, BlkFeature.DISCARD) || has(f, BlkFeature.WRITE_ZEROES)).toBe(false);
  expect(has(f, BlkFeature.FLUSH)).toBe(true);
});

test('the config space carries capacity, queues and the limits the executor enforces', () => {
  const cfg = blkDeviceConfig({ sizeBytes: 1 << 30, queues: 4 }, 256);
  const back = decodeBlkConfig(encodeBlkConfig(cfg));
  expect(back).toMatchObject({
    capacity: 2097152,
    segMax: 254,
    sizeMax: DEFAULT_BLK_LIMITS.sizeMax,
    blkSize: 512,
    numQueues: 4,
    maxDiscardSectors: DEFAULT_BLK_LIMITS.maxDiscardSectors,
    maxWriteZeroesSeg: DEFAULT_BLK_LIMITS.maxWriteZeroesSeg,
    writeZeroesMayUnmap: 0,
  });
  expect(() => blkDeviceConfig({ sizeBytes: 512, queues: 1 }, 2)).toThrow(/queue size 2/);
});
