import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  BLK_CONFIG_SIZE,
  BLK_DWZ_FLAG_UNMAP,
  BLK_DWZ_SEGMENT_SIZE,
  BLK_ID_BYTES,
  BLK_REQ_HEADER_SIZE,
  BLK_SECTOR_SIZE,
  BlkFeature,
  BlkRequestType,
  BlkStatus,
  blkFeatureMask,
  decodeBlkDwzSegment,
  decodeBlkHeader,
  decodeBlkId,
  encodeBlkDwzSegment,
  encodeBlkHeader,
  encodeBlkId,
  VIRTIO_ID_BLOCK,
} from '../src/index.ts';

describe('virtio-blk constants', () => {
  test('match VIRTIO 1.2 and Linux virtio_blk.h', () => {
    expect(VIRTIO_ID_BLOCK).toBe(2);
    expect(BlkFeature).toEqual({
      SIZE_MAX: 1,
      SEG_MAX: 2,
      GEOMETRY: 4,
      RO: 5,
      BLK_SIZE: 6,
      FLUSH: 9,
      TOPOLOGY: 10,
      CONFIG_WCE: 11,
      MQ: 12,
      DISCARD: 13,
      WRITE_ZEROES: 14,
    });
    expect(BlkRequestType).toEqual({
      IN: 0,
      OUT: 1,
      FLUSH: 4,
      GET_ID: 8,
      DISCARD: 11,
      WRITE_ZEROES: 13,
    });
    expect(BlkStatus).toEqual({ OK: 0, IOERR: 1, UNSUPP: 2 });
    expect([BLK_SECTOR_SIZE, BLK_ID_BYTES, BLK_REQ_HEADER_SIZE, BLK_DWZ_SEGMENT_SIZE]).toEqual([
      512, 20, 16, 16,
    ]);
    expect(BLK_DWZ_FLAG_UNMAP).toBe(1);
  });

  test('feature masks are 64-bit bigints', () => {
    expect(blkFeatureMask(BlkFeature.MQ)).toBe(0x1000n);
    expect(blkFeatureMask(32)).toBe(0x1_0000_0000n);
    expect(() => blkFeatureMask(64)).toThrow(RangeError);
    expect(() => blkFeatureMask(-1)).toThrow(RangeError);
  });
});

describe('request header', () => {
  test('encodes little-endian at the spec offsets', () => {
    const b = new Uint8Array(16);
    encodeBlkHeader({ type: BlkRequestType.OUT, reserved: 0x01020304, sector: 0x1_0000_0002 }, b);
    expect([...b]).toEqual([1, 0, 0, 0, 4, 3, 2, 1, 2, 0, 0, 0, 1, 0, 0, 0]);
    expect(decodeBlkHeader(b)).toEqual({ type: 1, reserved: 0x01020304, sector: 0x1_0000_0002 });
  });

  test('round-trips any exact sector, at any offset, inside a SharedArrayBuffer', () => {
    const sab = new Uint8Array(new SharedArrayBuffer(64));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 48 }),
        (type, reserved, sector, off) => {
          encodeBlkHeader({ type, reserved, sector }, sab, off);
          expect(decodeBlkHeader(sab, off)).toEqual({ type, reserved, sector });
        },
      ),
    );
  });

  test('a hostile sector beyond 2^53 decodes to a number still beyond 2^53', () => {
    const b = new Uint8Array(16).fill(0xff);
    const h = decodeBlkHeader(b);
    expect(h.type).toBe(0xffff_ffff);
    expect(h.sector).toBeGreaterThanOrEqual(2 ** 53);
    b.fill(0);
    b[14] = 0x20; // 2^53 exactly
    expect(decodeBlkHeader(b).sector).toBe(2 ** 53);
  });

  test('decoding into a reused object writes every field', () => {
    const b = new Uint8Array(16);
    encodeBlkHeader({ type: 4, sector: 0 }, b);
    const out = { type: 9, reserved: 9, sector: 9 };
    expect(decodeBlkHeader(b, 0, out)).toBe(out);
    expect(out).toEqual({ type: 4, reserved: 0, sector: 0 });
  });

  test('rejects values that would wrap and buffers that are too short', () => {
    const b = new Uint8Array(16);
    expect(() => encodeBlkHeader({ type: -1, sector: 0 }, b)).toThrow(/header.type/);
    expect(() => encodeBlkHeader({ type: 2 ** 32, sector: 0 }, b)).toThrow(/header.type/);
    expect(() => encodeBlkHeader({ type: 0, sector: 2 ** 53 }, b)).toThrow(/header.sector/);
    expect(() => encodeBlkHeader({ type: 0, sector: 1.5 }, b)).toThrow(/header.sector/);
    expect(() => encodeBlkHeader({ type: 0, sector: 0 }, b, 1)).toThrow(/16 bytes/);
    expect(() => decodeBlkHeader(new Uint8Array(15))).toThrow(RangeError);
  });
});

describe('discard / write-zeroes segment', () => {
  test('encodes at the spec offsets and round-trips', () => {
    const b = new Uint8Array(32);
    encodeBlkDwzSegment({ sector: 0x0102, numSectors: 0x0304, flags: BLK_DWZ_FLAG_UNMAP }, b, 16);
    expect([...b.subarray(16)]).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 4, 3, 0, 0, 1, 0, 0, 0]);
    expect(decodeBlkDwzSegment(b, 16)).toEqual({ sector: 0x0102, numSectors: 0x0304, flags: 1 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (sector, numSectors, flags) => {
          encodeBlkDwzSegment({ sector, numSectors, flags }, b);
          expect(decodeBlkDwzSegment(b)).toEqual({ sector, numSectors, flags });
        },
      ),
    );
  });

  test('rejects out-of-range fields', () => {
    const b = new Uint8Array(16);
    expect(() => encodeBlkDwzSegment({ sector: 0, numSectors: 2 ** 32, flags: 0 }, b)).toThrow(
      /numSectors/,
    );
    expect(() => encodeBlkDwzSegment({ sector: -1, numSectors: 0, flags: 0 }, b)).toThrow(
      /segment.sector/,
    );
  });
});

describe('GET_ID string', () => {
  test('is NUL padded to 20 bytes, with no terminator when full', () => {
    expect([...encodeBlkId('ab')]).toEqual([97, 98, ...new Array(18).fill(0)]);
    const full = 'abcdefghijklmnopqrst';
    expect(encodeBlkId(full)).toHaveLength(BLK_ID_BYTES);
    expect(decodeBlkId(encodeBlkId(full))).toBe(full);
    expect(decodeBlkId(encodeBlkId('pvkit-0'))).toBe('pvkit-0');
    expect(decodeBlkId(new Uint8Array(20))).toBe('');
  });

  test('refuses serials it would cut or mangle', () => {
    expect(() => encodeBlkId('abcdefghijklmnopqrstu')).toThrow(/at most 20/);
    expect(() => encodeBlkId('caf\u00e9')).toThrow(/ASCII/);
    expect(() => encodeBlkId('a\0b')).toThrow(/ASCII/);
  });
});

test('config size constant covers the fields through unused1', () => {
  expect(BLK_CONFIG_SIZE).toBe(60);
});
