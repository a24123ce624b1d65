// GuestMemory: every address from the other side is a hostile u64.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { GuestMemory, GuestMemoryError, type GuestMemoryErrorKind } from '../src/index.ts';

const SIZE = 64 * 1024;
const mem = new GuestMemory(new SharedArrayBuffer(SIZE));

function kindOf(f: () => unknown): GuestMemoryErrorKind | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(GuestMemoryError);
    return (e as GuestMemoryError).kind;
  }
}

describe('check', () => {
  test('inside, at the edges, and past the end', () => {
    expect(mem.check(0, SIZE)).toBe(0);
    expect(mem.check(SIZE - 1, 1)).toBe(SIZE - 1);
    expect(mem.check(10n, 5)).toBe(10);
    expect(kindOf(() => mem.check(SIZE, 0))).toBe('address-out-of-range');
    expect(kindOf(() => mem.check(BigInt(SIZE), 0))).toBe('address-out-of-range');
    expect(kindOf(() => mem.check(SIZE - 1, 2))).toBe('range-out-of-bounds');
    expect(kindOf(() => mem.check(0, SIZE + 1))).toBe('range-out-of-bounds');
  });

  test('u64 values that would wrap or lose precision', () => {
    expect(kindOf(() => mem.check(0xffff_ffff_ffff_fff0n, 0x20))).toBe('address-out-of-range');
    expect(kindOf(() => mem.check(2 ** 60, 1))).toBe('address-out-of-range');
    expect(kindOf(() => mem.check(2 ** 53 + 2, 1))).toBe('address-out-of-range');
    expect(kindOf(() => mem.check(1n << 64n, 0))).toBe('bad-address');
    expect(kindOf(() => mem.check(-1n, 0))).toBe('bad-address');
    expect(kindOf(() => mem.check(-1, 0))).toBe('bad-address');
    expect(kindOf(() => mem.check(1.5, 0))).toBe('bad-address');
    expect(kindOf(() => mem.check(Number.NaN, 0))).toBe('bad-address');
    expect(kindOf(() => mem.check(2 ** 64, 0))).toBe('bad-address');
    expect(kindOf(() => mem.check(0, -1))).toBe('bad-length');
    expect(kindOf(() => mem.check(0, 2 ** 32 + 1))).toBe('bad-length');
    expect(kindOf(() => mem.check(0, 0.5))).toBe('bad-length');
  });

  test('property: accepted iff addr < size and addr + len <= size (exact u64 arithmetic)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.nat({ max: 2 ** 32 }),
        (addr, len) => {
          const want = addr < BigInt(SIZE) && addr + BigInt(len) <= BigInt(SIZE);
          expect(kindOf(() => mem.check(addr, len)) === 'ok').toBe(want);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: SIZE - 100, max: SIZE + 100 }),
        fc.nat({ max: 200 }),
        (addr, len) => {
          expect(kindOf(() => mem.check(addr, len)) === 'ok').toBe(
            addr < SIZE && addr + len <= SIZE,
          );
        },
      ),
    );
  });
});

describe('views and little-endian accessors', () => {
  test('bytes() is a view (no copy) and copyOut() a copy', () => {
    const v = mem.bytes(100, 4);
    v.set([1, 2, 3, 4]);
    expect(mem.readU32(100)).toBe(0x04030201);
    const c = mem.copyOut(100, 4);
    mem.writeU8(100, 9);
    expect([...c]).toEqual([1, 2, 3, 4]);
    expect(v[0]).toBe(9);
    mem.copyIn(200, new Uint8Array([5, 6]));
    expect(mem.readU16(200)).toBe(0x0605);
    expect(kindOf(() => mem.bytes(SIZE - 2, 4))).toBe('range-out-of-bounds');
    expect(kindOf(() => mem.copyIn(SIZE - 1, new Uint8Array(2)))).toBe('range-out-of-bounds');
  });

  test('u8/u16/u32/u64 round trips at unaligned addresses, little-endian on the wire', () => {
    mem.writeU16(301, 0xbeef);
    mem.writeU32(303n, 0xdeadbeef);
    mem.writeU64(307, 0x0123_4567_89ab_cdefn);
    mem.writeU64(315, -1n); // stored as u64
    const raw = new DataView(mem.buffer);
    expect(raw.getUint16(301, true)).toBe(0xbeef);
    expect(raw.getUint8(303)).toBe(0xef);
    expect(mem.readU32(303)).toBe(0xdeadbeef);
    expect(mem.readU64(307n)).toBe(0x0123_4567_89ab_cdefn);
    expect(mem.readU64(315)).toBe(0xffff_ffff_ffff_ffffn);
    expect(kindOf(() => mem.readU64(SIZE - 7))).toBe('range-out-of-bounds');
    expect(kindOf(() => mem.writeU16(SIZE, 0))).toBe('address-out-of-range');
  });

  test('only a SharedArrayBuffer', () => {
    expect(() => new GuestMemory(new ArrayBuffer(8) as unknown as SharedArrayBuffer)).toThrow(
      TypeError,
    );
  });
});
