// The rules a device enforces on the avail ring and on the queue's setup:
// an index that jumps, heads out of range or offered twice break the queue
// (nothing is processed twice); misplaced rings are refused up front.
import { describe, expect, test } from 'vitest';
import {
  DeviceQueue,
  GuestMemory,
  isMalformed,
  layoutSplitQueue,
  VIRTQ_DESC_F_NEXT as NEXT,
  RawDriver,
  VirtqueueError,
  VIRTQ_DESC_F_WRITE as WRITE,
} from '../src/index.ts';

const MEM = 1 << 20;
const DATA = 0x10000;

function setup(n = 8) {
  const mem = new GuestMemory(new SharedArrayBuffer(MEM));
  const queue = layoutSplitQueue(0x1000, n);
  return { mem, raw: new RawDriver(mem, queue), device: new DeviceQueue(mem, queue) };
}

describe('the avail ring', () => {
  test('avail.idx jumping more than N past the last seen: broken, nothing processed twice', () => {
    const s = setup(8);
    for (let i = 0; i < 3; i++) s.raw.writeDescriptor(i, { addr: DATA, len: 1, flags: WRITE });
    s.raw.offer(0, 1, 2);
    const seen = [s.device.popHead(), s.device.popHead(), s.device.popHead()];
    expect(seen).toEqual([0, 1, 2]);
    expect(s.device.popHead()).toBe(-1);
    s.raw.setAvailIdx(3 + 8 + 1); // last seen is 3: 9 new entries in a ring of 8
    let err: unknown;
    try {
      s.device.popHead();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VirtqueueError);
    expect((err as VirtqueueError).kind).toBe('avail-index-jump');
    expect(s.device.broken?.kind).toBe('avail-index-jump');
    // It stays stopped: entry 2 (and everything else) is never handed out.
    expect(() => s.device.popHead()).toThrow(/avail-index-jump/);
    s.raw.setAvailIdx(4); // even a plausible index later is not trusted
    expect(() => s.device.pop()).toThrow(/avail-index-jump/);
    expect(s.device.hasAvailable()).toBe(false);
    // What it already holds can still be completed, each once.
    for (const h of seen) s.device.push(h, 1);
    expect(() => s.device.push(0, 1)).toThrow(/not a chain this device holds/);
    s.device.publish();
    expect(s.raw.usedIdx()).toBe(3);
  });

  test('avail.idx moving backwards is a jump too', () => {
    const s = setup(8);
    s.raw.writeDescriptor(0, { addr: DATA, len: 1 });
    s.raw.offer(0);
    expect(s.device.popHead()).toBe(0);
    s.raw.setAvailIdx(0);
    expect(() => s.device.popHead()).toThrow(/avail-index-jump/);
  });

  test('exactly N new entries is not a jump', () => {
    const s = setup(8);
    for (let i = 0; i < 8; i++) s.raw.writeDescriptor(i, { addr: DATA, len: 1 });
    s.raw.offer(0, 1, 2, 3, 4, 5, 6, 7);
    const heads = Array.from({ length: 8 }, () => s.device.popHead());
    expect(heads).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(s.device.popHead()).toBe(-1);
  });

  test('a head >= N in the avail ring', () => {
    const s = setup(8);
    s.raw.offer(8);
    expect(() => s.device.popHead()).toThrow(/head-out-of-range/);
    expect(s.device.broken?.kind).toBe('head-out-of-range');
  });

  test('a head offered again while the device holds it', () => {
    const s = setup(8);
    s.raw.writeDescriptor(3, { addr: DATA, len: 1 });
    s.raw.writeDescriptor(4, { addr: DATA, len: 1 });
    s.raw.offer(3, 3, 4);
    expect(s.device.popHead()).toBe(3);
    expect(() => s.device.popHead()).toThrow(/head-in-flight/);
    // Stopped for good: not even a valid head the driver then writes into
    // the offending slot (one the device had already counted) comes out.
    s.raw.setAvailIdx(1);
    s.raw.offer(4, 4);
    expect(() => s.device.popHead()).toThrow(/head-in-flight/);
    expect(s.device.hasAvailable()).toBe(false);
  });

  test('the device copies descriptors once: rewriting them after pop changes nothing', () => {
    const s = setup(8);
    s.raw.writeDescriptor(0, { addr: DATA, len: 64, flags: WRITE });
    s.raw.offer(0);
    const c = s.device.pop();
    s.raw.writeDescriptor(0, { addr: MEM * 4, len: 1 << 30, flags: NEXT, next: 0 });
    expect(c && !isMalformed(c) && c.segments).toEqual([{ addr: DATA, len: 64, writable: true }]);
    s.device.push(0, 64); // the length validated at pop time still holds
  });
});

describe('queue setup', () => {
  const mem = new GuestMemory(new SharedArrayBuffer(MEM));
  const kind = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as VirtqueueError).kind;
    }
    return 'accepted';
  };
  test('sizes, alignment and ranges of the three areas', () => {
    const ok = layoutSplitQueue(0, 8);
    expect(kind(() => new DeviceQueue(mem, ok))).toBe('accepted');
    expect(kind(() => new DeviceQueue(mem, { ...ok, size: 6 }))).toBe('bad-queue-size');
    expect(kind(() => new DeviceQueue(mem, { ...ok, size: 65536 }))).toBe('bad-queue-size');
    expect(kind(() => new DeviceQueue(mem, ok, { maxSize: 4 }))).toBe('bad-queue-size');
    expect(kind(() => new DeviceQueue(mem, { ...ok, desc: 8 }))).toBe('ring-misaligned');
    expect(kind(() => new DeviceQueue(mem, { ...ok, avail: ok.avail + 1 }))).toBe(
      'ring-misaligned',
    );
    expect(kind(() => new DeviceQueue(mem, { ...ok, used: ok.used + 2 }))).toBe('ring-misaligned');
    expect(kind(() => new DeviceQueue(mem, { ...ok, used: MEM - 8 }))).toBe('ring-out-of-range');
    expect(kind(() => new DeviceQueue(mem, { ...ok, desc: 2 ** 60 }))).toBe('ring-out-of-range');
  });
});
