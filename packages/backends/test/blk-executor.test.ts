import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BLK_DWZ_FLAG_UNMAP,
  BlkFeature,
  BlkStatus,
  blkFeatureMask,
  BlkRequestType as T,
} from '@pvkit/virtio-ring';
import { describe, expect, test } from 'vitest';
import { MemoryImage, RawFileImage } from '../src/blk/index.ts';
import {
  blkRig,
  dwzRequest,
  firstDiff,
  pattern,
  readSectors,
  useScratch,
  writeSectors,
} from './blk-support.ts';

const DISK = 1 << 20; // 2048 sectors
const scratch = useScratch();

function rawDisk(): RawFileImage {
  const img = RawFileImage.create(join(scratch.dir, 'disk.img'), DISK);
  scratch.keep(img);
  return img;
}

describe('IN and OUT', () => {
  test('a write lands in the file and reads back through guest memory', () => {
    const rig = blkRig(rawDisk());
    const data = pattern(4096, 1);
    const w = writeSectors(rig, 10, data);
    expect(w.result).toEqual({ status: BlkStatus.OK, len: 1 });
    expect(w.statusByte).toBe(BlkStatus.OK);
    const file = readFileSync(join(scratch.dir, 'disk.img'));
    expect(firstDiff(file.subarray(10 * 512, 10 * 512 + 4096), data)).toBeNull();
    const r = readSectors(rig, 10, 4096);
    expect(r.result).toEqual({ status: BlkStatus.OK, len: 4097 });
    expect(firstDiff(r.data, data)).toBeNull();
    expect(rig.ex.counters).toMatchObject({
      requestsOut: 1,
      requestsIn: 1,
      bytesWritten: 4096,
      bytesRead: 4096,
    });
  });

  test('data scattered over many descriptors of uneven sizes, both ways', () => {
    const rig = blkRig(rawDisk());
    const data = pattern(8192, 2);
    expect(writeSectors(rig, 100, data, [100, 412, 1024, 3000, 3656]).result.status).toBe(
      BlkStatus.OK,
    );
    const r = readSectors(rig, 100, 8192, [512, 7, 1, 2000, 5672]);
    expect(r.result).toEqual({ status: BlkStatus.OK, len: 8193 });
    expect(firstDiff(r.data, data)).toBeNull();
  });

  test('any layout: header split across descriptors, header and data in one, status ending the data', () => {
    const rig = blkRig(rawDisk());
    const data = pattern(1024, 3);
    // OUT: one readable descriptor holding header + data.
    const w = rig.req();
    const hdr = new Uint8Array(16 + 1024);
    new DataView(hdr.buffer).setUint32(0, T.OUT, true);
    new DataView(hdr.buffer).setUint32(8, 7, true);
    hdr.set(data, 16);
    w.readable(hdr);
    const ws = w.status();
    expect(rig.ex.execute(rig.mem, w.chain())).toEqual({ status: 0, len: 1 });
    expect(rig.mem.u8[ws]).toBe(0);
    // IN: header in two pieces (5 + 11 bytes), data and status in one writable descriptor.
    const r = rig.req();
    const h = new Uint8Array(16);
    new DataView(h.buffer).setUint32(8, 7, true);
    r.readable(h.subarray(0, 5));
    r.readable(h.subarray(5));
    const buf = r.writable(1025);
    expect(rig.ex.execute(rig.mem, r.chain())).toEqual({ status: 0, len: 1025 });
    expect(firstDiff(rig.mem.u8.subarray(buf, buf + 1024), data)).toBeNull();
    expect(rig.mem.u8[buf + 1024]).toBe(BlkStatus.OK);
  });

  test('the last sector is reachable; one past it is IOERR and nothing is read or written', () => {
    const rig = blkRig(rawDisk());
    expect(writeSectors(rig, 2047, pattern(512, 4)).result.status).toBe(BlkStatus.OK);
    const over = writeSectors(rig, 2047, pattern(1024, 5));
    expect(over.result).toEqual({ status: BlkStatus.IOERR, len: 1 });
    const past = readSectors(rig, 2048, 512);
    expect(past.result).toEqual({ status: BlkStatus.IOERR, len: 0 });
    expect(past.data.every((b) => b === 0xaa)).toBe(true);
    expect(readSectors(rig, Number.MAX_SAFE_INTEGER, 512).result.status).toBe(BlkStatus.IOERR);
    expect(readSectors(rig, 2048, 0).result).toEqual({ status: BlkStatus.OK, len: 1 });
    expect(rig.ex.counters.errorsRange).toBe(3);
    expect(
      firstDiff(readFileSync(join(scratch.dir, 'disk.img')).subarray(2047 * 512), pattern(512, 4)),
    ).toBeNull();
  });

  test('a hostile sector of 2^64 - 1 is past capacity, not wrapped', () => {
    const rig = blkRig(rawDisk());
    const r = rig.req();
    r.readable(new Uint8Array(16).fill(0xff).fill(0, 0, 8)); // type IN, sector 2^64-1
    r.writable(512);
    r.status();
    expect(rig.ex.execute(rig.mem, r.chain()).status).toBe(BlkStatus.IOERR);
    expect(rig.ex.counters.errorsRange).toBe(1);
  });

  test('a read-only disk answers IOERR to writes and leaves the file alone, but reads', () => {
    const p = join(scratch.dir, 'ro.img');
    writeFileSync(p, Buffer.alloc(DISK, 0x33));
    const img = RawFileImage.open(p, { readOnly: true });
    scratch.keep(img);
    const rig = blkRig(img);
    expect(writeSectors(rig, 0, pattern(512, 6)).result).toEqual({
      status: BlkStatus.IOERR,
      len: 1,
    });
    expect(dwzRequest(rig, T.WRITE_ZEROES, [{ sector: 0, numSectors: 1 }]).statusByte).toBe(
      BlkStatus.IOERR,
    );
    expect(dwzRequest(rig, T.DISCARD, [{ sector: 0, numSectors: 1 }]).statusByte).toBe(
      BlkStatus.IOERR,
    );
    expect(rig.ex.counters.errorsReadOnly).toBe(3);
    const r = readSectors(rig, 0, 512);
    expect(r.result.status).toBe(BlkStatus.OK);
    expect(r.data.every((b) => b === 0x33)).toBe(true);
    expect(readFileSync(p).every((b) => b === 0x33)).toBe(true);
  });
});

describe('FLUSH and GET_ID', () => {
  test('FLUSH is answered OK after fdatasync, and counted', () => {
    const rig = blkRig(rawDisk());
    writeSectors(rig, 0, pattern(512, 7));
    const r = rig.req();
    r.header(T.FLUSH, 0);
    const s = r.status();
    expect(rig.ex.execute(rig.mem, r.chain())).toEqual({ status: BlkStatus.OK, len: 1 });
    expect(rig.mem.u8[s]).toBe(BlkStatus.OK);
    expect(rig.ex.counters.requestsFlush).toBe(1);
  });

  test('FLUSH with a nonzero sector is a broken driver: IOERR', () => {
    const rig = blkRig(rawDisk());
    const r = rig.req();
    r.header(T.FLUSH, 1);
    r.status();
    expect(rig.ex.execute(rig.mem, r.chain()).status).toBe(BlkStatus.IOERR);
    expect(rig.ex.counters.errorsRequest).toBe(1);
  });

  test.each([
    [20, 21, 'pvkit-test'.padEnd(20, '\0')],
    [8, 9, 'pvkit-te'],
    [32, 20, `${'pvkit-test'.padEnd(20, '\0')}${'\xaa'.repeat(12)}`],
  ])('GET_ID into %d bytes writes what fits (len %d)', (size, len, want) => {
    const rig = blkRig(MemoryImage.create(DISK));
    const r = rig.req();
    r.header(T.GET_ID, 0);
    const buf = r.writable(size);
    const s = r.status();
    expect(rig.ex.execute(rig.mem, r.chain())).toEqual({ status: BlkStatus.OK, len });
    expect(String.fromCharCode(...rig.mem.u8.subarray(buf, buf + size))).toBe(want);
    expect(rig.mem.u8[s]).toBe(BlkStatus.OK);
  });

  test('a 20-character serial fills the answer with no terminator', () => {
    const rig = blkRig(MemoryImage.create(DISK), { serial: 'ABCDEFGHIJKLMNOPQRST' });
    const r = rig.req();
    r.header(T.GET_ID, 0);
    const buf = r.writable(20);
    r.status();
    rig.ex.execute(rig.mem, r.chain());
    expect(String.fromCharCode(...rig.mem.u8.subarray(buf, buf + 20))).toBe('ABCDEFGHIJKLMNOPQRST');
  });
});

describe('DISCARD and WRITE_ZEROES', () => {
  test.each([T.DISCARD, T.WRITE_ZEROES])(
    'type %d: several segments read back as zeros, the rest intact',
    (type) => {
      const rig = blkRig(rawDisk());
      const data = pattern(64 * 512, 8);
      writeSectors(rig, 0, data);
      const res = dwzRequest(rig, type, [
        { sector: 1, numSectors: 2 },
        { sector: 10, numSectors: 20 },
      ]);
      expect(res.result).toEqual({ status: BlkStatus.OK, len: 1 });
      const want = data.slice();
      want.fill(0, 512, 3 * 512);
      want.fill(0, 10 * 512, 30 * 512);
      expect(firstDiff(readSectors(rig, 0, 64 * 512).data, want)).toBeNull();
      expect(rig.ex.counters.sectorsZeroed).toBe(22);
    },
  );

  test('UNMAP is allowed on WRITE_ZEROES; on DISCARD, and unknown flags anywhere, are UNSUPP', () => {
    const rig = blkRig(rawDisk());
    writeSectors(rig, 0, pattern(512, 9));
    const wz = dwzRequest(rig, T.WRITE_ZEROES, [
      { sector: 0, numSectors: 1, flags: BLK_DWZ_FLAG_UNMAP },
    ]);
    expect(wz.statusByte).toBe(BlkStatus.OK);
    writeSectors(rig, 0, pattern(512, 9));
    const d = dwzRequest(rig, T.DISCARD, [{ sector: 0, numSectors: 1, flags: BLK_DWZ_FLAG_UNMAP }]);
    expect(d.result).toEqual({ status: BlkStatus.UNSUPP, len: 1 });
    expect(
      dwzRequest(rig, T.WRITE_ZEROES, [{ sector: 0, numSectors: 1, flags: 2 }]).statusByte,
    ).toBe(BlkStatus.UNSUPP);
    expect(firstDiff(readSectors(rig, 0, 512).data, pattern(512, 9))).toBeNull();
    expect(rig.ex.counters.unsupported).toBe(2);
  });

  test('limits from the config: too many segments or sectors is IOERR, and nothing is zeroed', () => {
    const rig = blkRig(rawDisk());
    writeSectors(rig, 0, pattern(512, 10));
    const nine = Array.from({ length: 9 }, (_, i) => ({ sector: i, numSectors: 1 }));
    expect(dwzRequest(rig, T.DISCARD, nine).statusByte).toBe(BlkStatus.IOERR);
    const big = [
      { sector: 0, numSectors: 1 },
      { sector: 0, numSectors: 32769 },
    ];
    expect(dwzRequest(rig, T.WRITE_ZEROES, big).statusByte).toBe(BlkStatus.IOERR);
    expect(rig.ex.counters.errorsRequest).toBe(2);
    const past = [
      { sector: 0, numSectors: 1 },
      { sector: 2047, numSectors: 2 },
    ];
    expect(dwzRequest(rig, T.WRITE_ZEROES, past).statusByte).toBe(BlkStatus.IOERR);
    expect(rig.ex.counters.errorsRange).toBe(1);
    expect(firstDiff(readSectors(rig, 0, 512).data, pattern(512, 10))).toBeNull();
  });

  test('without the negotiated feature bit, UNSUPP', () => {
    const acked = blkFeatureMask(BlkFeature.FLUSH) | blkFeatureMask(BlkFeature.DISCARD);
    const rig = blkRig(MemoryImage.create(DISK), { ackedFeatures: acked });
    expect(dwzRequest(rig, T.DISCARD, [{ sector: 0, numSectors: 1 }]).statusByte).toBe(
      BlkStatus.OK,
    );
    expect(dwzRequest(rig, T.WRITE_ZEROES, [{ sector: 0, numSectors: 1 }]).statusByte).toBe(
      BlkStatus.UNSUPP,
    );
  });
});

test.each([2, 3, 5, 10, 14, 0xffff_ffff])('unknown type %d is UNSUPP', (type) => {
  const rig = blkRig(MemoryImage.create(DISK));
  const r = rig.req();
  r.header(type, 0);
  const s = r.status();
  expect(rig.ex.execute(rig.mem, r.chain())).toEqual({ status: BlkStatus.UNSUPP, len: 1 });
  expect(rig.mem.u8[s]).toBe(BlkStatus.UNSUPP);
  expect(rig.ex.counters).toMatchObject({ requestsOther: 1, unsupported: 1 });
});
