import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  BLK_CONFIG_SIZE,
  type BlkConfig,
  BlkConfigOffset,
  blankBlkConfig,
  decodeBlkConfig,
  encodeBlkConfig,
} from '../src/index.ts';

function sample(): BlkConfig {
  return {
    capacity: 0x0102_0304_0506,
    sizeMax: 0x11121314,
    segMax: 0x21222324,
    geometry: { cylinders: 0x3132, heads: 0x33, sectors: 0x34 },
    blkSize: 0x41424344,
    topology: {
      physicalBlockExp: 0x51,
      alignmentOffset: 0x52,
      minIoSize: 0x5354,
      optIoSize: 0x55565758,
    },
    writeback: 0x61,
    numQueues: 0x7172,
    maxDiscardSectors: 0x81828384,
    maxDiscardSeg: 0x91929394,
    discardSectorAlignment: 0xa1a2a3a4,
    maxWriteZeroesSectors: 0xb1b2b3b4,
    maxWriteZeroesSeg: 0xc1c2c3c4,
    writeZeroesMayUnmap: 0xd1,
  };
}

test('every field sits at its offset from the reference, little-endian', () => {
  const b = encodeBlkConfig(sample());
  expect(b).toHaveLength(BLK_CONFIG_SIZE);
  const u32 = (o: number) => new DataView(b.buffer).getUint32(o, true);
  const u16 = (o: number) => new DataView(b.buffer).getUint16(o, true);
  expect(new DataView(b.buffer).getBigUint64(0, true)).toBe(0x0102_0304_0506n);
  expect(u32(8)).toBe(0x11121314); // size_max
  expect(u32(12)).toBe(0x21222324); // seg_max
  expect(u16(16)).toBe(0x3132); // geometry.cylinders
  expect([b[18], b[19]]).toEqual([0x33, 0x34]); // heads, sectors
  expect(u32(20)).toBe(0x41424344); // blk_size
  expect([b[24], b[25]]).toEqual([0x51, 0x52]); // physical_block_exp, alignment_offset
  expect(u16(26)).toBe(0x5354); // min_io_size
  expect(u32(28)).toBe(0x55565758); // opt_io_size
  expect(b[32]).toBe(0x61); // writeback
  expect(b[33]).toBe(0); // unused0
  expect(u16(34)).toBe(0x7172); // num_queues
  expect(u32(36)).toBe(0x81828384); // max_discard_sectors
  expect(u32(40)).toBe(0x91929394); // max_discard_seg
  expect(u32(44)).toBe(0xa1a2a3a4); // discard_sector_alignment
  expect(u32(48)).toBe(0xb1b2b3b4); // max_write_zeroes_sectors
  expect(u32(52)).toBe(0xc1c2c3c4); // max_write_zeroes_seg
  expect(b[56]).toBe(0xd1); // write_zeroes_may_unmap
  expect([b[57], b[58], b[59]]).toEqual([0, 0, 0]); // unused1
  expect(BlkConfigOffset.NUM_QUEUES).toBe(34);
  expect(BlkConfigOffset.WRITE_ZEROES_MAY_UNMAP).toBe(56);
});

test('decode(encode(x)) is x, at an offset inside a larger shared buffer', () => {
  const u = (max: number) => fc.integer({ min: 0, max });
  const arb = fc.record({
    capacity: u(2 ** 44 - 1),
    sizeMax: u(0xffff_ffff),
    segMax: u(0xffff_ffff),
    geometry: fc.record({ cylinders: u(0xffff), heads: u(0xff), sectors: u(0xff) }),
    blkSize: u(0xffff_ffff),
    topology: fc.record({
      physicalBlockExp: u(0xff),
      alignmentOffset: u(0xff),
      minIoSize: u(0xffff),
      optIoSize: u(0xffff_ffff),
    }),
    writeback: u(0xff),
    numQueues: u(0xffff),
    maxDiscardSectors: u(0xffff_ffff),
    maxDiscardSeg: u(0xffff_ffff),
    discardSectorAlignment: u(0xffff_ffff),
    maxWriteZeroesSectors: u(0xffff_ffff),
    maxWriteZeroesSeg: u(0xffff_ffff),
    writeZeroesMayUnmap: u(0xff),
  });
  const mem = new Uint8Array(new SharedArrayBuffer(0x100 + BLK_CONFIG_SIZE));
  fc.assert(
    fc.property(arb, (cfg) => {
      encodeBlkConfig(cfg, mem, 0x100);
      expect(decodeBlkConfig(mem, 0x100)).toEqual(cfg);
    }),
  );
});

test('encoding clears stale bytes, including padding', () => {
  const b = new Uint8Array(BLK_CONFIG_SIZE).fill(0xee);
  encodeBlkConfig(blankBlkConfig(8), b);
  expect([...b]).toEqual([8, ...new Array(BLK_CONFIG_SIZE - 1).fill(0)]);
});

test('a field that would wrap is an error naming it', () => {
  expect(() => encodeBlkConfig({ ...sample(), numQueues: 0x10000 })).toThrow(/numQueues/);
  expect(() =>
    encodeBlkConfig({ ...sample(), geometry: { cylinders: 1, heads: 256, sectors: 1 } }),
  ).toThrow(/geometry.heads/);
  expect(() => encodeBlkConfig({ ...sample(), capacity: 2 ** 44 })).toThrow(/capacity/);
  expect(() => encodeBlkConfig(sample(), new Uint8Array(59))).toThrow(/60 bytes/);
  expect(() => decodeBlkConfig(new Uint8Array(59))).toThrow(RangeError);
});
