// What a hostile or broken driver can put in a chain, and what the host can
// do wrong underneath: every case gets a status (or len 0) and a counter,
// never a throw, never data moved on a request that was refused.

import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlkStatus, BlkRequestType as T } from '@pvkit/virtio-ring';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BLK_COUNTER_NAMES, MemoryImage, newBlkCounters, RawFileImage } from '../src/blk/index.ts';
import {
  blkRig,
  chainOf,
  dwzBytes,
  headerBytes,
  pattern,
  readSectors,
  useScratch,
  writeSectors,
} from './blk-support.ts';

const DISK = 1 << 20;
const scratch = useScratch();

function memDisk(fill = 0x5a): MemoryImage {
  const img = MemoryImage.create(DISK);
  new Uint8Array(img.buffer).fill(fill);
  return img;
}

describe('malformed chains', () => {
  // Each builds a chain in guest memory; `status` is the address of the byte
  // the device would use as status, or null when there is none.
  const cases: [string, (r: ReturnType<ReturnType<typeof blkRig>['req']>) => number | null][] = [
    ['no header, only a status byte', (r) => r.status()],
    [
      'a 10-byte header',
      (r) => {
        r.readable(new Uint8Array(10));
        return r.status();
      },
    ],
    [
      'the header in a writable descriptor',
      (r) => {
        r.writable(16);
        return r.status();
      },
    ],
    [
      'no status byte (nothing writable)',
      (r) => {
        r.header(T.IN, 0);
        r.readable(new Uint8Array(512));
        return null;
      },
    ],
    [
      'the status in a readable descriptor',
      (r) => {
        r.header(T.FLUSH, 0);
        r.readable(new Uint8Array(1));
        return null;
      },
    ],
    [
      'IN data of 500 bytes',
      (r) => {
        r.header(T.IN, 0);
        r.writable(500);
        return r.status();
      },
    ],
    [
      'OUT data of 513 bytes',
      (r) => {
        r.header(T.OUT, 0);
        r.readable(new Uint8Array(513));
        return r.status();
      },
    ],
    [
      'IN with readable data',
      (r) => {
        r.header(T.IN, 0);
        r.readable(new Uint8Array(512));
        r.writable(512);
        return r.status();
      },
    ],
    [
      'OUT with writable data',
      (r) => {
        r.header(T.OUT, 0);
        r.readable(new Uint8Array(512));
        r.writable(512);
        return r.status();
      },
    ],
    [
      'DISCARD with no segment',
      (r) => {
        r.header(T.DISCARD, 0);
        return r.status();
      },
    ],
    [
      'DISCARD with 20 bytes of segments',
      (r) => {
        r.header(T.DISCARD, 0);
        r.readable(new Uint8Array(20));
        return r.status();
      },
    ],
  ];

  test.each(cases)(
    '%s: IOERR where a status byte exists, len 0, nothing else touched',
    (_what, build) => {
      const rig = blkRig(memDisk());
      const r = rig.req();
      const status = build(r);
      const before = rig.mem.u8.slice();
      const result = rig.ex.execute(rig.mem, r.chain());
      expect(result.len).toBe(0);
      expect(result.status).toBe(status === null ? null : BlkStatus.IOERR);
      if (status !== null) {
        expect(rig.mem.u8[status]).toBe(BlkStatus.IOERR);
        before[status] = BlkStatus.IOERR;
      }
      expect(Buffer.from(rig.mem.u8).equals(before)).toBe(true); // no other guest byte written
      expect(new Uint8Array((rig.image as MemoryImage).buffer).every((b) => b === 0x5a)).toBe(true);
      expect(rig.ex.counters.errorsChain).toBe(1);
    },
  );

  test('readable after writable (out of order) is malformed', () => {
    const rig = blkRig(memDisk());
    const r = rig.req();
    r.writable(512);
    r.header(T.IN, 0);
    const s = r.status();
    expect(rig.ex.execute(rig.mem, r.chain())).toEqual({ status: BlkStatus.IOERR, len: 0 });
    expect(rig.mem.u8[s]).toBe(BlkStatus.IOERR);
  });

  test('wild addresses: header, data or status outside guest memory', () => {
    const rig = blkRig(memDisk());
    const wild = rig.mem.size - 100;
    const hdr = rig.req();
    hdr.segs.push({ addr: wild, len: 16 * 1000, writable: false });
    const s1 = hdr.status();
    expect(rig.ex.execute(rig.mem, hdr.chain())).toEqual({ status: BlkStatus.IOERR, len: 0 });
    expect(rig.mem.u8[s1]).toBe(BlkStatus.IOERR);

    // OUT whose second data descriptor is wild: the first must not reach the disk.
    const out = rig.req();
    out.header(T.OUT, 0);
    out.readable(new Uint8Array(512).fill(1));
    out.segs.push({ addr: wild, len: 512, writable: false });
    out.status();
    expect(rig.ex.execute(rig.mem, out.chain()).status).toBe(BlkStatus.IOERR);
    expect(new Uint8Array((rig.image as MemoryImage).buffer).every((b) => b === 0x5a)).toBe(true);

    const st = rig.req();
    st.header(T.FLUSH, 0);
    st.segs.push({ addr: 2 ** 40, len: 1, writable: true });
    expect(rig.ex.execute(rig.mem, st.chain())).toEqual({ status: null, len: 0 });
    expect(rig.ex.counters.errorsChain).toBe(3);
  });

  test('more descriptors than seg_max + 2, or one longer than size_max, is IOERR', () => {
    const rig = blkRig(memDisk(), { queueSize: 8 }); // seg_max 6
    expect(readSectors(rig, 0, 7 * 512, new Array(7).fill(512)).result.status).toBe(
      BlkStatus.IOERR,
    );
    expect(readSectors(rig, 0, 6 * 512, new Array(6).fill(512)).result.status).toBe(BlkStatus.OK);
    expect(writeSectors(rig, 0, new Uint8Array(2 << 20)).result.status).toBe(BlkStatus.IOERR);
    expect(rig.ex.counters.errorsRequest).toBe(2);
    expect(rig.ex.counters.requestsIn).toBe(2);
  });
});

describe('no double fetch', () => {
  test('a header rewritten after it was copied changes nothing', () => {
    const img = memDisk(0);
    new Uint8Array(img.buffer).set(pattern(512, 1), 5 * 512);
    const rig = blkRig(img);
    const r = rig.req();
    const hdr = r.header(T.IN, 5);
    const data = r.writable(512);
    r.status();
    let calls = 0;
    rig.mem.onBytes = (addr) => {
      // Once the device moves on to the data, rewrite the header: an OUT to
      // sector 0 from the same buffer, which would overwrite the disk.
      if (addr === data && calls++ === 0) rig.mem.u8.set(headerBytes(T.OUT, 0), hdr);
    };
    expect(rig.ex.execute(rig.mem, r.chain())).toEqual({ status: BlkStatus.OK, len: 513 });
    expect(calls).toBe(1);
    expect(Buffer.from(rig.mem.u8.subarray(data, data + 512)).equals(pattern(512, 1))).toBe(true);
    expect(new Uint8Array(img.buffer, 0, 512).every((b) => b === 0)).toBe(true);
  });

  test('a segment list rewritten after validation changes nothing', () => {
    const img = memDisk(0x11);
    const rig = blkRig(img);
    const r = rig.req();
    r.header(T.WRITE_ZEROES, 0);
    const list = r.readable(
      dwzBytes([
        { sector: 8, numSectors: 1 },
        { sector: 9, numSectors: 1 },
      ]),
    );
    r.status();
    // The image is real; its first zeroing rewrites the guest's list to aim
    // the second segment at sector 0 and past the end.
    const zero = img.writeZeroes.bind(img);
    let first = true;
    img.writeZeroes = (off, len) => {
      if (first)
        rig.mem.u8.set(
          dwzBytes([
            { sector: 8, numSectors: 1 },
            { sector: 0, numSectors: 99999 },
          ]),
          list,
        );
      first = false;
      zero(off, len);
    };
    expect(rig.ex.execute(rig.mem, r.chain()).status).toBe(BlkStatus.OK);
    const disk = new Uint8Array(img.buffer);
    expect(disk.subarray(0, 8 * 512).every((b) => b === 0x11)).toBe(true);
    expect(disk.subarray(8 * 512, 10 * 512).every((b) => b === 0)).toBe(true);
    expect(disk.subarray(10 * 512).every((b) => b === 0x11)).toBe(true);
  });
});

describe('host errors', () => {
  test('a write through a descriptor opened read-only (EBADF) is IOERR and counted', () => {
    const p = join(scratch.dir, 'a.img');
    writeFileSync(p, Buffer.alloc(DISK));
    const img = RawFileImage.fromFd(openSync(p, 'r'), { readOnly: false });
    scratch.keep(img);
    const seen: unknown[] = [];
    const rig = blkRig(img, { onHostError: (e) => seen.push(e) });
    expect(writeSectors(rig, 0, pattern(512, 2)).result).toEqual({
      status: BlkStatus.IOERR,
      len: 1,
    });
    expect(rig.ex.counters.errorsHostIo).toBe(1);
    expect(seen).toEqual([expect.objectContaining({ code: 'EBADF' })]);
  });

  test('ENOSPC from the host (/dev/full) is IOERR; reads still work', () => {
    const img = RawFileImage.fromFd(openSync('/dev/full', 'r+'), { sizeBytes: DISK });
    scratch.keep(img);
    const rig = blkRig(img);
    expect(writeSectors(rig, 0, pattern(4096, 3)).statusByte).toBe(BlkStatus.IOERR);
    expect(readSectors(rig, 0, 512).result.status).toBe(BlkStatus.OK);
    expect(rig.ex.counters.errorsHostIo).toBe(1);
  });

  test('an image closed under the device: IN, OUT and FLUSH are IOERR, no throw', () => {
    const img = RawFileImage.create(join(scratch.dir, 'c.img'), DISK);
    const rig = blkRig(img);
    img.close();
    expect(readSectors(rig, 0, 512).result).toEqual({ status: BlkStatus.IOERR, len: 0 });
    expect(writeSectors(rig, 0, pattern(512, 4)).statusByte).toBe(BlkStatus.IOERR);
    const f = rig.req();
    f.header(T.FLUSH, 0);
    f.status();
    expect(rig.ex.execute(rig.mem, f.chain()).status).toBe(BlkStatus.IOERR);
    expect(rig.ex.counters.errorsHostIo).toBe(3);
  });

  test('an image implementation that throws a non-Error still gets IOERR', () => {
    const img = memDisk();
    img.readInto = () => {
      throw 'disk on fire';
    };
    const rig = blkRig(img);
    expect(readSectors(rig, 0, 512).result.status).toBe(BlkStatus.IOERR);
    expect(rig.ex.counters.errorsHostIo).toBe(1);
  });
});

test('random chains never throw, and len never exceeds the writable bytes', () => {
  const rig = blkRig(memDisk(), { queueSize: 16 });
  const seg = fc.record({
    addr: fc.oneof(fc.integer({ min: 0, max: rig.mem.size + 64 }), fc.constant(0x2000)),
    len: fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.constantFrom(1, 16, 512)),
    writable: fc.boolean(),
  });
  const header = fc.record({
    type: fc.constantFrom(T.IN, T.OUT, T.FLUSH, T.GET_ID, T.DISCARD, T.WRITE_ZEROES, 7),
    sector: fc.oneof(fc.integer({ min: 0, max: 2100 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  });
  fc.assert(
    fc.property(
      header,
      fc.array(seg, { maxLength: 20 }),
      fc.uint8Array({ maxLength: 64 }),
      (h, segs, junk) => {
        rig.mem.u8.set(headerBytes(h.type, h.sector), 0x2000);
        rig.mem.u8.set(junk, 0x2010);
        const chain = chainOf(segs.map((s) => ({ ...s })));
        const res = rig.ex.execute(rig.mem, chain);
        expect(res.len).toBeGreaterThanOrEqual(0);
        expect(res.len).toBeLessThanOrEqual(chain.writableLen);
        expect([null, BlkStatus.OK, BlkStatus.IOERR, BlkStatus.UNSUPP]).toContain(res.status);
      },
    ),
    { numRuns: 2000 },
  );
});

test('counters are a flat struct of numbers in a fixed order', () => {
  const c = newBlkCounters();
  expect(Object.keys(c)).toEqual([...BLK_COUNTER_NAMES]);
  expect(Object.values(c).every((v) => v === 0)).toBe(true);
});
