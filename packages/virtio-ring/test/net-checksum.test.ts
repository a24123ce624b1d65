import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  csumAdd,
  csumAdd32,
  csumFinish,
  csumFold,
  csumPartial,
  internetChecksum,
} from '../src/index.ts';

// The textbook algorithm, written for clarity: 16-bit big-endian words,
// end-around carry after every addition, odd byte padded with zero.
function naiveChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    const word = (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
    sum += word;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

describe('Internet checksum (RFC 1071)', () => {
  test('RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to ddf2', () => {
    const bytes = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(csumPartial(bytes, 0, 8)).toBe(0xddf2);
    expect(internetChecksum(bytes)).toBe(0x220d);
  });

  test('a real IPv4 header checksums to b861 and verifies to 0', () => {
    const hdr = Uint8Array.from(
      '45000073000040004011b861c0a80001c0a800c7'.match(/../g)!.map((h) => Number.parseInt(h, 16)),
    );
    expect(internetChecksum(hdr)).toBe(0);
    hdr[10] = 0;
    hdr[11] = 0;
    expect(internetChecksum(hdr)).toBe(0xb861);
  });

  test('fold, add and finish follow ones-complement rules', () => {
    expect(csumFold(0)).toBe(0);
    expect(csumFold(0xffff)).toBe(0xffff);
    expect(csumFold(0x10000)).toBe(1);
    expect(csumFold(0x1fffe)).toBe(0xffff);
    expect(csumAdd(0xffff, 1)).toBe(1);
    expect(csumAdd32(0, 0xc0a80001)).toBe(csumFold(0xc0a8 + 0x0001));
    expect(csumFinish(0xffff)).toBe(0);
    expect(csumFinish(0)).toBe(0xffff);
  });

  test('empty and odd-length ranges', () => {
    expect(internetChecksum(new Uint8Array(0))).toBe(0xffff);
    expect(internetChecksum(new Uint8Array([0xab]))).toBe(~0xab00 & 0xffff);
  });

  test('a range outside the buffer is a RangeError', () => {
    expect(() => csumPartial(new Uint8Array(4), 2, 6)).toThrow(RangeError);
    expect(() => csumPartial(new Uint8Array(4), 3, 2)).toThrow(RangeError);
  });

  test('matches the naive algorithm at every alignment, on shared and plain memory', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.nat(7),
        fc.boolean(),
        (data, shift, shared) => {
          // Place the bytes at a chosen misalignment inside a larger buffer so
          // both the byte path and the 32-bit word path are exercised.
          const backing = shared
            ? new SharedArrayBuffer(data.length + 16)
            : new ArrayBuffer(data.length + 16);
          const view = new Uint8Array(backing, shift, data.length + 8);
          view.set(data, 3);
          expect(internetChecksum(view, 3, 3 + data.length)).toBe(naiveChecksum(data));
        },
      ),
      { numRuns: 400 },
    );
  });

  test('partial sums over even-length pieces compose to the whole', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.nat(), (data, cut) => {
        const split = (cut % (data.length + 1)) & ~1;
        const whole = csumPartial(data, 0, data.length);
        const first = csumPartial(data, 0, split);
        expect(csumPartial(data, split, data.length, first)).toBe(whole);
        expect(csumAdd(first, csumPartial(data, split, data.length))).toBe(whole);
      }),
    );
  });

  test('large ranges (longer than one fold window) stay exact', () => {
    const data = new Uint8Array(5 * 1024 * 1024).fill(0xff);
    data[12345] = 0x12;
    expect(internetChecksum(data)).toBe(naiveChecksum(data));
  });
});
