// One hostile driver per rule of "Rules a device must enforce"
// (reference/virtio.md): each chain is written byte by byte with RawDriver,
// and the device must name what is wrong, hand the head back for a
// len-0 completion, and never process an entry twice.
import { describe, expect, test } from 'vitest';
import {
  DeviceQueue,
  GuestMemory,
  VIRTQ_DESC_F_INDIRECT as INDIRECT,
  isMalformed,
  layoutSplitQueue,
  VIRTQ_DESC_F_NEXT as NEXT,
  type PoppedChain,
  type RawDescriptor,
  RawDriver,
  VirtqueueError,
  type VirtqueueErrorKind,
  VIRTQ_DESC_F_WRITE as WRITE,
} from '../src/index.ts';

const MEM = 1 << 20;
const TABLE = 0x8000; // where tests put indirect tables
const DATA = 0x10000;

function setup(n = 8, indirect = true, memBytes = MEM) {
  const mem = new GuestMemory(new SharedArrayBuffer(memBytes));
  const queue = layoutSplitQueue(0x1000, n);
  const raw = new RawDriver(mem, queue);
  const device = new DeviceQueue(mem, queue, { indirect });
  return { mem, raw, device };
}

/** Offer `descs` as a chain starting at descriptor `head`, pop it. */
function popChain(
  descs: RawDescriptor[],
  opts: { n?: number; indirect?: boolean; head?: number } = {},
) {
  const s = setup(opts.n, opts.indirect ?? true);
  const head = opts.head ?? 0;
  s.raw.writeChain(head, descs);
  s.raw.offer(head);
  return { ...s, chain: s.device.pop() };
}

function expectMalformed(c: PoppedChain | null, kind: VirtqueueErrorKind, head = 0): void {
  expect(c).not.toBeNull();
  if (!c || !isMalformed(c)) throw new Error(`expected ${kind}, got a valid chain`);
  expect(c.head).toBe(head);
  expect(c.error).toBeInstanceOf(VirtqueueError);
  expect(c.error.kind).toBe(kind);
  expect(c.error.head).toBe(head);
}

/** A malformed chain is still completed with len 0, and only with len 0. */
function expectCompletable(s: { device: DeviceQueue; raw: RawDriver }, head: number): void {
  expect(() => s.device.push(head, 1)).toThrow(/writable bytes/);
  s.device.push(head, 0);
  s.device.publish();
  expect(s.raw.usedIdx()).toBe(1);
  expect(s.raw.used(0)).toEqual({ id: head, len: 0 });
  expect(s.device.inFlight).toBe(0);
}

describe('chain rules', () => {
  test('a well-formed chain: readable then writable, following next links', () => {
    const s = setup();
    s.raw.writeDescriptor(2, { addr: DATA, len: 16, flags: NEXT, next: 5 });
    s.raw.writeDescriptor(5, { addr: DATA + 16, len: 0, flags: NEXT, next: 7 });
    s.raw.writeDescriptor(7, { addr: DATA + 64, len: 100, flags: WRITE });
    s.raw.offer(2);
    const c = s.device.pop();
    if (!c || isMalformed(c)) throw new Error('expected a valid chain');
    expect(c.head).toBe(2);
    expect(c.segments).toEqual([
      { addr: DATA, len: 16, writable: false },
      { addr: DATA + 16, len: 0, writable: false },
      { addr: DATA + 64, len: 100, writable: true },
    ]);
    expect([c.readableLen, c.writableLen]).toEqual([16, 100]);
    expect(() => s.device.push(2, 101)).toThrow(/writable bytes/);
    s.device.push(2, 100);
    expect(() => s.device.push(2, 0)).toThrow(/not a chain this device holds/);
  });

  test('loop: a chain that comes back on itself', () => {
    const s = popChain([
      { addr: DATA, len: 16, flags: NEXT, next: 1 },
      { addr: DATA, len: 16, flags: NEXT, next: 0 },
    ]);
    expectMalformed(s.chain, 'chain-too-long');
    expectCompletable(s, 0);
  });

  test('loop: a descriptor that names itself', () => {
    const s = popChain([{ addr: DATA, len: 16, flags: NEXT, next: 0 }]);
    expectMalformed(s.chain, 'chain-too-long');
  });

  test('next out of range', () => {
    const s = popChain([{ addr: DATA, len: 16, flags: NEXT, next: 8 }]);
    expectMalformed(s.chain, 'next-out-of-range');
    expectCompletable(s, 0);
  });

  test('address at the end of memory', () => {
    expectMalformed(popChain([{ addr: MEM, len: 0 }]).chain, 'address-out-of-range');
    expectMalformed(popChain([{ addr: MEM + 4096, len: 1 }]).chain, 'address-out-of-range');
  });

  test('a range that runs past the end of memory', () => {
    expectMalformed(popChain([{ addr: MEM - 10, len: 11 }]).chain, 'range-out-of-bounds');
    const ok = popChain([{ addr: MEM - 10, len: 10 }]).chain;
    expect(ok && !isMalformed(ok)).toBe(true);
  });

  test('u64 sums that wrap: addr + len overflows 2^64 into low memory', () => {
    const wrap = 0xffff_ffff_ffff_fff0n; // + 0x20 wraps to 0x10
    expectMalformed(popChain([{ addr: wrap, len: 0x20 }]).chain, 'address-out-of-range');
    // High bits set: 2^32 + small is past a 1 MiB memory, not an alias of small.
    expectMalformed(popChain([{ addr: (1n << 32n) + 16n, len: 1 }]).chain, 'address-out-of-range');
    expectMalformed(popChain([{ addr: 1n << 63n, len: 1 }]).chain, 'address-out-of-range');
  });

  test('chain longer than N (a direct descriptor plus an N-entry indirect table)', () => {
    const s = setup(8);
    for (let i = 0; i < 8; i++)
      s.raw.writeDescriptor(i, { addr: DATA, len: 1, flags: i < 7 ? NEXT : 0, next: i + 1 }, TABLE);
    s.raw.writeChain(0, [
      { addr: DATA, len: 1, flags: NEXT, next: 1 },
      { addr: TABLE, len: 8 * 16, flags: INDIRECT },
    ]);
    s.raw.offer(0);
    expectMalformed(s.device.pop(), 'chain-too-long');
  });

  test('a chain of exactly N descriptors is fine', () => {
    const descs = Array.from({ length: 8 }, (_, i) => ({
      addr: DATA + i,
      len: 1,
      flags: i < 7 ? NEXT : 0,
      next: i + 1,
    }));
    const c = popChain(descs).chain;
    expect(c && !isMalformed(c) && c.segments.length).toBe(8);
  });

  test('more than 2^32 bytes in one chain', () => {
    // 1024 descriptors of 4 MiB + 4 KiB over the same 8 MiB: 2^32 + 4 MiB.
    const n = 1024;
    const big = 4 * 1024 * 1024;
    const s = setup(n, false, 2 * big);
    const chain = (len: number) =>
      Array.from({ length: n }, (_, i) => ({
        addr: 4096,
        len,
        flags: i < n - 1 ? NEXT : 0,
        next: i + 1,
      }));
    s.raw.writeChain(0, chain(big + 4096));
    s.raw.offer(0);
    expectMalformed(s.device.pop(), 'chain-too-large');
    s.device.push(0, 0);
    // Exactly 2^32 bytes is the limit, not past it.
    s.raw.writeChain(0, chain(big));
    s.raw.offer(0);
    const c = s.device.pop();
    expect(c && !isMalformed(c) && c.readableLen).toBe(2 ** 32);
  });

  test('writable before readable', () => {
    const s = popChain([
      { addr: DATA, len: 16, flags: WRITE | NEXT, next: 1 },
      { addr: DATA, len: 16 },
    ]);
    expectMalformed(s.chain, 'readable-after-writable');
    expectCompletable(s, 0);
  });

  test('writable before readable inside an indirect table', () => {
    const s = setup();
    s.raw.writeChain(
      0,
      [
        { addr: DATA, len: 4, flags: WRITE | NEXT, next: 1 },
        { addr: DATA, len: 4 },
      ],
      TABLE,
    );
    s.raw.writeDescriptor(3, { addr: TABLE, len: 32, flags: INDIRECT });
    s.raw.offer(3);
    expectMalformed(s.device.pop(), 'readable-after-writable', 3);
  });
});

describe('indirect tables', () => {
  const table = (s: ReturnType<typeof setup>, descs: RawDescriptor[]) =>
    s.raw.writeChain(0, descs, TABLE);

  test('a valid table: segments in table order, WRITE on the pointing descriptor ignored', () => {
    const s = setup();
    table(s, [
      { addr: DATA, len: 16, flags: NEXT, next: 2 },
      { addr: 0, len: 0 }, // skipped by the chain's links
      { addr: DATA + 100, len: 8, flags: WRITE },
    ]);
    s.raw.writeDescriptor(4, { addr: TABLE, len: 48, flags: INDIRECT | WRITE });
    s.raw.offer(4);
    const c = s.device.pop();
    if (!c || isMalformed(c)) throw new Error('expected a valid chain');
    expect(c.head).toBe(4);
    expect(c.segments).toEqual([
      { addr: DATA, len: 16, writable: false },
      { addr: DATA + 100, len: 8, writable: true },
    ]);
    expect([c.readableLen, c.writableLen]).toEqual([16, 8]);
  });

  test('INDIRECT together with NEXT', () => {
    const s = setup();
    table(s, [{ addr: DATA, len: 16 }]);
    s.raw.writeChain(0, [
      { addr: TABLE, len: 16, flags: INDIRECT | NEXT, next: 1 },
      { addr: DATA, len: 1 },
    ]);
    s.raw.offer(0);
    expectMalformed(s.device.pop(), 'indirect-with-next');
    expectCompletable(s, 0);
  });

  test('nested indirect', () => {
    const s = setup();
    table(s, [{ addr: TABLE + 0x100, len: 16, flags: INDIRECT }]);
    s.raw.writeDescriptor(0, { addr: TABLE, len: 16, flags: INDIRECT });
    s.raw.offer(0);
    expectMalformed(s.device.pop(), 'nested-indirect');
  });

  test('table length not a multiple of 16', () => {
    const s = setup();
    table(s, [
      { addr: DATA, len: 16 },
      { addr: DATA, len: 16 },
    ]);
    s.raw.writeDescriptor(0, { addr: TABLE, len: 24, flags: INDIRECT });
    s.raw.offer(0);
    expectMalformed(s.device.pop(), 'indirect-length-not-multiple-of-16');
  });

  test('empty table', () => {
    const s = popChain([{ addr: TABLE, len: 0, flags: INDIRECT }]);
    expectMalformed(s.chain, 'empty-indirect-table');
    expectCompletable(s, 0);
  });

  test('more entries than the queue size', () => {
    const s = popChain([{ addr: TABLE, len: 9 * 16, flags: INDIRECT }]);
    expectMalformed(s.chain, 'indirect-table-too-large');
  });

  test('table outside guest memory', () => {
    expectMalformed(
      popChain([{ addr: MEM - 16, len: 32, flags: INDIRECT }]).chain,
      'indirect-table-out-of-range',
    );
    expectMalformed(
      popChain([{ addr: 1n << 40n, len: 16, flags: INDIRECT }]).chain,
      'indirect-table-out-of-range',
    );
  });

  test('next out of range inside the table', () => {
    const s = setup();
    table(s, [
      { addr: DATA, len: 1, flags: NEXT, next: 2 },
      { addr: DATA, len: 1 },
    ]);
    s.raw.writeDescriptor(0, { addr: TABLE, len: 32, flags: INDIRECT });
    s.raw.offer(0);
    expectMalformed(s.device.pop(), 'next-out-of-range');
  });

  test('loop inside the table', () => {
    const s = setup();
    table(s, [
      { addr: DATA, len: 1, flags: NEXT, next: 1 },
      { addr: DATA, len: 1, flags: NEXT, next: 0 },
    ]);
    s.raw.writeDescriptor(0, { addr: TABLE, len: 32, flags: INDIRECT });
    s.raw.offer(0);
    expectMalformed(s.device.pop(), 'chain-too-long');
  });

  test('INDIRECT without VIRTIO_F_INDIRECT_DESC', () => {
    const s = popChain([{ addr: TABLE, len: 16, flags: INDIRECT }], { indirect: false });
    expectMalformed(s.chain, 'indirect-not-negotiated');
  });

  test('an unaligned table is read correctly', () => {
    const s = setup();
    s.raw.writeChain(0, [{ addr: DATA, len: 3, flags: WRITE }], TABLE + 2);
    s.raw.writeDescriptor(0, { addr: TABLE + 2, len: 16, flags: INDIRECT });
    s.raw.offer(0);
    const c = s.device.pop();
    expect(c && !isMalformed(c) && c.segments).toEqual([{ addr: DATA, len: 3, writable: true }]);
  });
});
