import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  completeChecksum,
  emptyNetHdr,
  internetChecksum,
  NET_HDR_SIZE,
  NetGso,
  type NetHdr,
  NetHdrFlag,
  netFeatures,
  readNetHdr,
  rxChecksumAction,
  validateTxNetHdr,
  writeNetHdr,
  writeRxNetHdr,
} from '../src/index.ts';

const arbHdr = fc.record({
  flags: fc.integer({ min: 0, max: 255 }),
  gsoType: fc.integer({ min: 0, max: 255 }),
  hdrLen: fc.integer({ min: 0, max: 0xffff }),
  gsoSize: fc.integer({ min: 0, max: 0xffff }),
  csumStart: fc.integer({ min: 0, max: 0xffff }),
  csumOffset: fc.integer({ min: 0, max: 0xffff }),
  numBuffers: fc.integer({ min: 0, max: 0xffff }),
});

describe('virtio_net_hdr', () => {
  test('is 12 bytes, little-endian, fields at the spec offsets', () => {
    const buf = new Uint8Array(NET_HDR_SIZE);
    writeNetHdr(buf, 0, {
      flags: 1,
      gsoType: 3,
      hdrLen: 0x0102,
      gsoSize: 0x0304,
      csumStart: 0x0506,
      csumOffset: 0x0708,
      numBuffers: 0x090a,
    });
    expect([...buf]).toEqual([1, 3, 2, 1, 4, 3, 6, 5, 8, 7, 0x0a, 9]);
  });

  test('round-trips through Uint8Array and DataView at any offset', () => {
    fc.assert(
      fc.property(arbHdr, fc.nat(20), (hdr, off) => {
        const buf = new Uint8Array(off + NET_HDR_SIZE + 3);
        writeNetHdr(buf, off, hdr);
        expect(readNetHdr(buf, off)).toEqual(hdr);
        expect(readNetHdr(new DataView(buf.buffer), off)).toEqual(hdr);
        const copy = new Uint8Array(buf.length);
        writeNetHdr(new DataView(copy.buffer), off, hdr);
        expect(copy).toEqual(buf);
      }),
    );
  });

  test('readNetHdr reuses the object it is given', () => {
    const out = emptyNetHdr();
    const buf = new Uint8Array(NET_HDR_SIZE);
    buf[0] = NetHdrFlag.DATA_VALID;
    expect(readNetHdr(buf, 0, out)).toBe(out);
    expect(out.flags).toBe(NetHdrFlag.DATA_VALID);
  });

  test('a header that does not fit is a RangeError, not a partial read', () => {
    expect(() => readNetHdr(new Uint8Array(11))).toThrow(RangeError);
    expect(() => writeNetHdr(new Uint8Array(20), 9, emptyNetHdr())).toThrow(RangeError);
  });

  test('writeRxNetHdr writes flags, num_buffers and checksum offsets, zeroes the rest', () => {
    const buf = new Uint8Array(NET_HDR_SIZE).fill(0xee);
    writeRxNetHdr(buf, 0, NetHdrFlag.DATA_VALID, 3);
    expect(readNetHdr(buf)).toEqual({ ...emptyNetHdr(), flags: 2, numBuffers: 3 });
  });
});

describe('tx header validation against acked features', () => {
  const hdr = (over: Partial<NetHdr>): NetHdr => ({ ...emptyNetHdr(), ...over });
  const csum = netFeatures('CSUM');

  test('a plain header is fine with no features', () => {
    expect(validateTxNetHdr(hdr({}), 0n, 60)).toBeNull();
  });

  test('NEEDS_CSUM needs CSUM acked and offsets inside the frame', () => {
    const h = hdr({ flags: NetHdrFlag.NEEDS_CSUM, csumStart: 34, csumOffset: 6 });
    expect(validateTxNetHdr(h, 0n, 60)).toBe('needs-csum-not-negotiated');
    expect(validateTxNetHdr(h, csum, 60)).toBeNull();
    expect(validateTxNetHdr(h, csum, 41)).toBe('csum-offset-beyond-frame');
    expect(validateTxNetHdr(h, csum, 42)).toBeNull();
    expect(validateTxNetHdr(h, csum, 34)).toBe('csum-start-beyond-frame');
  });

  test('device-only flags from a driver are rejected', () => {
    expect(validateTxNetHdr(hdr({ flags: NetHdrFlag.DATA_VALID }), csum, 60)).toBe(
      'device-only-flag',
    );
    expect(validateTxNetHdr(hdr({ flags: NetHdrFlag.RSC_INFO }), csum, 60)).toBe(
      'device-only-flag',
    );
  });

  test('GSO needs its HOST_* feature, NEEDS_CSUM and a size', () => {
    const tso = hdr({
      flags: NetHdrFlag.NEEDS_CSUM,
      gsoType: NetGso.TCPV4,
      gsoSize: 1448,
      csumStart: 34,
      csumOffset: 16,
    });
    expect(validateTxNetHdr(tso, csum, 3000)).toBe('gso-not-negotiated');
    const acked = netFeatures('CSUM', 'HOST_TSO4');
    expect(validateTxNetHdr(tso, acked, 3000)).toBeNull();
    expect(validateTxNetHdr({ ...tso, gsoType: NetGso.TCPV4 | NetGso.ECN }, acked, 3000)).toBe(
      'ecn-not-negotiated',
    );
    expect(validateTxNetHdr({ ...tso, flags: 0 }, acked, 3000)).toBe('gso-without-needs-csum');
    expect(validateTxNetHdr({ ...tso, gsoSize: 0 }, acked, 3000)).toBe('gso-size-zero');
    expect(validateTxNetHdr({ ...tso, gsoType: 2 }, acked, 3000)).toBe('unknown-gso-type');
    expect(validateTxNetHdr(hdr({ gsoType: NetGso.ECN }), acked, 60)).toBe('ecn-not-negotiated');
  });
});

// A UDP/IPv4 frame whose checksum field holds only the pseudo-header sum, as a
// driver leaves it with NEEDS_CSUM.
function partialUdpFrame(payload: Uint8Array): { frame: Uint8Array; full: number } {
  const frame = new Uint8Array(42 + payload.length);
  const udpLen = 8 + payload.length;
  frame.set([0x45, 0, 0, 20 + udpLen, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  frame.set([0x30, 0x39, 0x00, 0x07, udpLen >> 8, udpLen & 0xff, 0, 0], 34);
  frame.set(payload, 42);
  // Pseudo-header: src, dst, zero, proto 17, UDP length.
  const pseudo = new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2, 0, 17, udpLen >> 8, udpLen & 0xff]);
  const both = new Uint8Array(12 + udpLen);
  both.set(pseudo);
  both.set(frame.subarray(34), 12);
  const full = internetChecksum(both) || 0xffff;
  const pseudoSum = ~internetChecksum(pseudo) & 0xffff;
  frame[40] = pseudoSum >> 8;
  frame[41] = pseudoSum & 0xff;
  return { frame, full };
}

describe('completeChecksum (device side of NEEDS_CSUM)', () => {
  test('turns a pseudo-header sum into the full UDP checksum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1472 }), fc.nat(9), (payload, at) => {
        const { frame, full } = partialUdpFrame(payload);
        const buf = new Uint8Array(frame.length + at + 4);
        buf.set(frame, at);
        expect(completeChecksum(buf, at, frame.length, 34, 6)).toBeNull();
        expect((buf[at + 40] << 8) | buf[at + 41]).toBe(full);
      }),
    );
  });

  test('a computed zero is stored as 0xffff', () => {
    // Bytes after csum_start sum to 0xffff, so the complement is 0.
    const buf = new Uint8Array([0xff, 0xff, 0x00, 0x00]);
    expect(completeChecksum(buf, 0, 4, 0, 2)).toBeNull();
    expect([buf[2], buf[3]]).toEqual([0xff, 0xff]);
  });

  test('offsets outside the frame write nothing', () => {
    const buf = new Uint8Array(64).fill(7);
    expect(completeChecksum(buf, 0, 60, 60, 0)).toBe('csum-start-beyond-frame');
    expect(completeChecksum(buf, 0, 60, 34, 25)).toBe('csum-offset-beyond-frame');
    expect(buf.every((b) => b === 7)).toBe(true);
    expect(() => completeChecksum(buf, 10, 60, 0, 0)).toThrow(RangeError);
  });

  test('rxChecksumAction honours the receiver acked GUEST_CSUM', () => {
    expect(rxChecksumAction(false, netFeatures('GUEST_CSUM'))).toBe('as-is');
    expect(rxChecksumAction(true, netFeatures('GUEST_CSUM'))).toBe('data-valid');
    expect(rxChecksumAction(true, netFeatures('CSUM'))).toBe('complete');
  });
});
