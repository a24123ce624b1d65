import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  checkFrameLength,
  DgramFraming,
  encodeStreamFrame,
  StreamDecoder,
  writeStreamPrefix,
} from '../src/net/index.ts';

const frameArb = fc.uint8Array({ minLength: 14, maxLength: 1514 });

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Split `bytes` at the given cut points (taken modulo its length). */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('dgram framing (one frame per datagram)', () => {
  test('length rules: runt below 14, oversize above MTU + 14', () => {
    expect(checkFrameLength(13, 1500)).toBe('runt');
    expect(checkFrameLength(14, 1500)).toBeNull();
    expect(checkFrameLength(1514, 1500)).toBeNull();
    expect(checkFrameLength(1515, 1500)).toBe('oversize');
    expect(checkFrameLength(9014, 9000)).toBeNull();
  });

  test('decode passes frames through unchanged and counts what it refuses', () => {
    const f = new DgramFraming();
    const ok = new Uint8Array(60).fill(3);
    expect(f.decode(ok)).toBe(ok);
    expect(f.decode(new Uint8Array(5))).toBeNull();
    expect(f.decode(new Uint8Array(1515))).toBeNull();
    expect(f.stats).toMatchObject({ rxFrames: 1, rxBytes: 60, rxRunts: 1, rxOversize: 1 });
  });

  test('encode pads short frames with zeros to 60, leaves the rest alone', () => {
    const f = new DgramFraming();
    const arp = new Uint8Array(42).fill(7);
    const wire = f.encode(arp)!;
    expect(wire.length).toBe(60);
    expect([...wire.subarray(0, 42)]).toEqual([...arp]);
    expect(wire.subarray(42).every((b) => b === 0)).toBe(true);
    const big = new Uint8Array(100);
    expect(f.encode(big)).toBe(big);
    expect(f.encode(new Uint8Array(1515))).toBeNull();
    expect(f.stats).toMatchObject({ txFrames: 2, txPadded: 1, txOversize: 1, txBytes: 160 });
    expect(new DgramFraming({ padToMinimum: false }).encode(arp)!.length).toBe(42);
  });
});

describe('stream framing (4-byte big-endian length prefix)', () => {
  test('prefix is big-endian', () => {
    const out = encodeStreamFrame(new Uint8Array(0x0102).fill(1));
    expect([...out.subarray(0, 4)]).toEqual([0, 0, 1, 2]);
    expect(() => writeStreamPrefix(new Uint8Array(4), 0, 2 ** 32)).toThrow(RangeError);
  });

  test('any chunking of a stream decodes the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, cuts) => {
          const stream = concat(frames.map(encodeStreamFrame));
          const dec = new StreamDecoder();
          const got: number[][] = [];
          for (const c of chunk(stream, cuts)) {
            expect(dec.push(c, (f) => got.push([...f]))).toBe(true);
          }
          expect(got).toEqual(frames.map((f) => [...f]));
          expect(dec.pending).toBe(0);
          expect(dec.stats.frames).toBe(frames.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('byte-at-a-time delivery works', () => {
    const frames = [new Uint8Array(14).fill(1), new Uint8Array(1514).fill(2)];
    const stream = concat(frames.map(encodeStreamFrame));
    const dec = new StreamDecoder();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++)
      dec.push(stream.subarray(i, i + 1), (f) => got.push(f.slice()));
    expect(got).toEqual(frames);
  });

  test('runt lengths are skipped and counted; the stream stays in sync', () => {
    const runt = new Uint8Array([0, 0, 0, 3, 9, 9, 9]);
    const empty = new Uint8Array([0, 0, 0, 0]);
    const good = encodeStreamFrame(new Uint8Array(20).fill(5));
    const dec = new StreamDecoder();
    const got: number[] = [];
    for (const c of chunk(concat([runt, empty, good, runt]), [1, 5, 6, 9, 12])) {
      dec.push(c, (f) => got.push(f.length));
    }
    expect(got).toEqual([20]);
    expect(dec.stats.runts).toBe(3);
  });

  test('an oversized length stops the decoder with an error, bounded memory, no hang', () => {
    const dec = new StreamDecoder({ maxFrame: 1514 });
    const got: Uint8Array[] = [];
    const good = encodeStreamFrame(new Uint8Array(100));
    const bad = new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    expect(dec.push(concat([good, bad, good]), (f) => got.push(f))).toBe(false);
    expect(got.length).toBe(1);
    expect(dec.error).toMatch(/2147483647 exceeds the maximum of 1514/);
    expect(dec.push(good, (f) => got.push(f))).toBe(false); // sticky
    expect(got.length).toBe(1);
    dec.reset();
    expect(dec.push(good, (f) => got.push(f))).toBe(true);
    expect(got.length).toBe(2);
  });

  test('garbage never throws: frames, runts or a clear error, memory bounded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 10 }),
        fc.integer({ min: 14, max: 2000 }),
        (chunks, maxFrame) => {
          const dec = new StreamDecoder({ maxFrame });
          let ok = true;
          for (const c of chunks) {
            ok = dec.push(c, (f) => {
              expect(f.length).toBeGreaterThanOrEqual(14);
              expect(f.length).toBeLessThanOrEqual(maxFrame);
            });
            expect(dec.pending).toBeLessThanOrEqual(Math.max(4, maxFrame));
            if (!ok) break;
          }
          expect(ok).toBe(dec.error === null);
        },
      ),
      { numRuns: 500 },
    );
  });
});
